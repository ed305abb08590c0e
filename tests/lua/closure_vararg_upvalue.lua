-- Closures: capturing varargs through tables, upvalues modified after closure creation, loops.
local function capture(...)
  local packed = table.pack(...)
  return function() return table.unpack(packed, 1, packed.n) end
end
print(capture(1, nil, 3)())
print(select("#", capture(nil, nil)()))
local function bind(f, ...)
  local bound = table.pack(...)
  return function(...)
    local args = {table.unpack(bound, 1, bound.n)}
    local extra = table.pack(...)
    for i = 1, extra.n do args[bound.n + i] = extra[i] end
    return f(table.unpack(args, 1, bound.n + extra.n))
  end
end
local add3 = function(a, b, c) return a + b + c end
print(bind(add3, 1)(2, 3), bind(add3, 1, 2)(3), bind(add3, 1, 2, 3)())
print(bind(string.format, "%s-%s")("a", "b"))
local x = 1
local function getx() return x end
x = 2
local x = 3
print(getx(), x)
local fns = {}
local i = 1
while i <= 3 do
  local j = i
  fns[i] = function() return i, j end
  i = i + 1
end
print(fns[1]()) print(fns[3]())
local function outer()
  local v = "before"
  local function read() return v end
  v = "after"
  return read
end
print(outer()())
local function gen_pairs()
  local t = {}
  for k = 1, 3 do t[k] = {get = function() return k end, inc = function() k = k + 10 end} end
  return t
end
local p = gen_pairs()
p[2].inc()
print(p[1].get(), p[2].get(), p[3].get())
local function counter_pair()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, peek = counter_pair()
inc() inc()
print(peek())
