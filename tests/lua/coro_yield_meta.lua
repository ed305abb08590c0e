-- Coroutines: yielding inside metamethods (__index, __lt, __concat, __add, __eq, __call) and iterators.
local mt = {
  __index = function(t, k) return coroutine.yield("index " .. k) end,
  __lt = function(a, b) return coroutine.yield("lt") end,
  __le = function(a, b) return coroutine.yield("le") end,
  __concat = function(a, b) return coroutine.yield("concat") end,
  __add = function(a, b) return coroutine.yield("add") end,
  __eq = function(a, b) return coroutine.yield("eq") end,
  __call = function(self, x) return coroutine.yield("call " .. x) end,
  __len = function() return coroutine.yield("len") end,
  __newindex = function(t, k, v) coroutine.yield("newindex " .. k) rawset(t, k, v) end,
}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
local co = coroutine.wrap(function()
  local r = {}
  r[#r + 1] = a.foo
  r[#r + 1] = tostring(a < b)
  r[#r + 1] = tostring(a <= b)
  r[#r + 1] = a .. "s"
  r[#r + 1] = a + 1
  r[#r + 1] = tostring(a == b)
  r[#r + 1] = a("arg")
  r[#r + 1] = #a
  a.stored = "v"
  r[#r + 1] = rawget(a, "stored")
  if a < b then r[#r + 1] = "if-lt" end
  return table.concat(r, ",")
end)
print(co())
print(co("foo-value"))
print(co(true))
print(co(false))
print(co("concat-value"))
print(co("add-value"))
print(co(1))
print(co("call-value"))
print(co(7))
print(co())
print(co(true))
local iter_co = coroutine.wrap(function()
  local function it(s, i) if i < 3 then coroutine.yield("iter step " .. i) return i + 1 end end
  local out = {}
  for i in it, nil, 0 do out[#out + 1] = i end
  return table.concat(out, " ")
end)
print(iter_co(), iter_co(), iter_co(), iter_co())
local sorter = coroutine.wrap(function()
  local t = {3, 1, 2}
  table.sort(t, function(x, y) return x < y end)
  return table.concat(t, " ")
end)
print(sorter())
print(pcall(coroutine.wrap(function()
  local t = {3, 1, 2}
  table.sort(t, function(x, y) coroutine.yield() return x < y end)
end)))
