-- Arithmetic and bitwise errors for every operator on every kind of operand, with the
-- variable information Lua 5.4 gives (local, upvalue, global, field, constant, none), with
-- the string metatable's arithmetic installed and then removed. Issue 14, family 3.
local ops = {"+", "-", "*", "/", "%", "^", "//", "&", "|", "~", "<<", ">>"}
local kinds = {
  {"str", '"abc"'}, {"numstr", '"10"'}, {"fltstr", '"2.5"'}, {"tbl", "{}"},
  {"named", 'setmetatable({}, {__name = "MyType"})'}, {"nilv", "nil"}, {"bool", "true"},
  {"fn", "print"}, {"co", "coroutine.create(print)"}, {"flt", "1.5"}, {"int", "7"},
}
V = {}
for _, k in ipairs(kinds) do V[k[1]] = load("return " .. k[2])() end

local shapes = {
  "local x = V.%s return x %s 3",
  "local x = V.%s return 3 %s x",
  "local x = V.%s return x %s 2.5",
  "local x, y = V.%s, 4 return y %s x",
  "local x = V.%s return (function() return x %s 1 end)()",
  "g = V.%s return g %s 1",
  "return V.%s %s 1",
  "local t = {V.%s} return t[1] %s t[1]",
}
local literal = {"return %s %s 1", "return 1 %s %s"}

local function run(src)
  local f = assert(load(src, "=case"))
  local ok, e = pcall(f)
  if ok then e = math.type(e) or type(e) end
  print(ok, e)
end

local function all()
  for _, op in ipairs(ops) do
    for _, k in ipairs(kinds) do
      for _, shape in ipairs(shapes) do run(shape:format(k[1], op)) end
      run(literal[1]:format(k[2], op))
      run(literal[2]:format(op, k[2]))
    end
  end
  for _, k in ipairs(kinds) do
    run(("local x = V.%s return -x"):format(k[1]))
    run(("local x = V.%s return ~x"):format(k[1]))
    run(("return -V.%s"):format(k[1]))
    run(("return ~V.%s"):format(k[1]))
    run(("local x = V.%s return (function() return -x end)()"):format(k[1]))
    run(("return -%s"):format(k[2]))
  end
end

all()
local mt = getmetatable("")
for _, e in ipairs{"__add", "__sub", "__mul", "__div", "__mod", "__pow", "__idiv", "__unm"} do
  mt[e] = nil
end
print("-- without the string metatable's arithmetic")
all()
