-- Closures: counters, independent instances, shared upvalues between sibling closures.
local function counter()
  local n = 0
  return function() n = n + 1 return n end
end
local c1, c2 = counter(), counter()
print(c1(), c1(), c1(), c2(), c1(), c2())
local function pair()
  local v = 0
  local function get() return v end
  local function set(x) v = x end
  local function inc() v = v + 1 end
  return get, set, inc
end
local get, set, inc = pair()
print(get()) set(10) print(get()) inc() inc() print(get())
local get2 = pair()
print(get2())
local function adder(x) return function(y) return x + y end end
local add5 = adder(5)
print(add5(1), add5(10), adder(-1)(1))
local function compose(f, g) return function(...) return f(g(...)) end end
local inc_then_double = compose(function(x) return x * 2 end, function(x) return x + 1 end)
print(inc_then_double(3))
local fns = {}
local shared = 0
for i = 1, 3 do fns[i] = function() shared = shared + i return shared end end
print(fns[1](), fns[2](), fns[3](), shared)
local x = 1
local function readx() return x end
x = 2
print(readx())
local function makeacc()
  local total = 0
  return {
    add = function(n) total = total + n return total end,
    get = function() return total end,
  }
end
local acc = makeacc()
acc.add(5) acc.add(7)
print(acc.get())
local function curry3(f) return function(a) return function(b) return function(c) return f(a, b, c) end end end end
print(curry3(function(a, b, c) return a .. b .. c end)("x")("y")("z"))
local memo = {}
local function once(f) local done, val return function() if not done then done, val = true, f() end return val end end
local calls = 0
local lazy = once(function() calls = calls + 1 return "computed" end)
print(lazy(), lazy(), calls)
