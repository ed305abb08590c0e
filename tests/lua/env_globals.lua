-- Environment: _G, _ENV, _VERSION, global access through _ENV, local _ENV tricks.
print(_VERSION)
print(_G._G == _G, _ENV == _G, _G.print == print)
gvar = "global value"
print(_G.gvar, _ENV.gvar, rawget(_G, "gvar"))
_G.other = 5
print(other)
gvar, other = nil, nil
print(gvar, other)
do
  local _ENV = {print = print, x = "from local env"}
  print(x)
  y = "set in local env"
  print(y)
end
print(y)
local function with_env()
  local _ENV = {tostring = tostring}
  return tostring(print)
end
print(with_env())
local function sandbox(code_fn)
  local _ENV = setmetatable({}, {__index = _G})
  newglobal = "sandboxed"
  return newglobal, _G.newglobal
end
print(sandbox())
local saved = _ENV
do
  local _ENV = setmetatable({}, {__index = saved, __newindex = function(t, k, v) saved.print("intercepted", k, v) end})
  intercepted_var = 42
  print(intercepted_var)
end
local count = 0
for k in pairs(_G) do count = count + 1 end
print(count > 10)
local names = {}
for _, n in ipairs({"print", "type", "pairs", "ipairs", "next", "select", "tostring", "tonumber", "error", "pcall", "xpcall", "assert", "rawget", "rawset", "rawequal", "rawlen", "setmetatable", "getmetatable", "load", "collectgarbage"}) do
  names[#names + 1] = type(_G[n]) == "function" and "f" or "?"
end
print(table.concat(names))
print(type(string), type(table), type(math), type(coroutine), type(utf8))
print(_G["_VERSION"] == _VERSION)
local function f() return _ENV end
print(f() == _G)
local e2 = {}
local function g() local _ENV = e2 z = 1 end
g()
print(e2.z, rawget(_G, "z"))
