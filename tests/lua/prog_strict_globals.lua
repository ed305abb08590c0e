-- Program: "strict mode" for globals using a metatable on _ENV (declare before use).
local declared = {}
local real_G = _G
local strict_env = setmetatable({}, {
  __index = function(_, k)
    if declared[k] then return nil end
    local v = real_G[k]
    if v == nil then error("undeclared global '" .. tostring(k) .. "'", 2) end
    return v
  end,
  __newindex = function(t, k, v)
    if not declared[k] then error("assignment to undeclared global '" .. tostring(k) .. "'", 2) end
    rawset(t, k, v)
  end,
})
local function declare(name, value) declared[name] = true rawset(strict_env, name, value) end
local chunk = load([[
  print("inside strict chunk", type(print))
  counter = counter + 1
  local ok, err = pcall(function() return undefined_thing end)
  print(ok, err)
  ok, err = pcall(function() typo_var = 1 end)
  print(ok, err)
  return counter
]], "=strict", "t", strict_env)
declare("counter", 41)
print(chunk())
declare("maybe", nil)
print(load("return maybe", "=m", "t", strict_env)())
print(pcall(load("return not_declared", "=nd", "t", strict_env)))
print(rawget(strict_env, "counter"), real_G.counter)
