-- Closures: upvalues of upvalues, nested levels, closing upvalues when scope ends.
local function outer()
  local a = 1
  return function()
    local b = 2
    return function()
      local c = 3
      return function() a = a + 1 return a + b + c end
    end
  end
end
local f = outer()()()
print(f(), f(), f())
local function level1()
  local x = "x1"
  local function level2()
    local function level3() return x end
    return level3
  end
  local g = level2()
  x = "x2"
  return g
end
print(level1()())
local setters, getters = {}, {}
do
  local v = 0
  for i = 1, 2 do
    setters[i] = function(n) v = n end
    getters[i] = function() return v end
  end
end
setters[1](42)
print(getters[1](), getters[2]())
local function mkchain(n)
  if n == 0 then return function() return 0 end end
  local inner = mkchain(n - 1)
  return function() return n + inner() end
end
print(mkchain(10)())
local function swap_closure()
  local a, b = 1, 2
  local function swap() a, b = b, a end
  local function show() return a, b end
  return swap, show
end
local sw, sh = swap_closure()
sw() print(sh()) sw() print(sh())
local t = {}
local function fill()
  for i = 1, 3 do
    local captured = {i}
    t[i] = function() captured[1] = captured[1] * 2 return captured[1] end
  end
end
fill()
print(t[1](), t[1](), t[2](), t[3]())
local function param_capture(p)
  return function() p = p + 1 return p end
end
local pc = param_capture(10)
print(pc(), pc())
local function vararg_capture(...)
  local args = {...}
  return function() return #args, args[1] end
end
print(vararg_capture("a", "b", "c")())
local rec
rec = function(n) if n == 0 then return "done" end return rec(n - 1) end
print(rec(5))
