-- Coroutines: create, resume, yield, passing values both ways, return values.
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  return d + e, "end"
end)
print(type(co), coroutine.status(co))
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co))
print(coroutine.resume(co))
local echo = coroutine.create(function(...)
  local args = {...}
  while true do args = {coroutine.yield(table.unpack(args))} end
end)
print(coroutine.resume(echo, "a", "b"))
print(coroutine.resume(echo))
print(coroutine.resume(echo, nil, nil, 3))
print(select("#", coroutine.resume(echo, nil, nil)))
local empty = coroutine.create(function() end)
print(coroutine.resume(empty))
print(coroutine.resume(empty))
local multi = coroutine.create(function() coroutine.yield() coroutine.yield(nil) coroutine.yield(1, nil) end)
for i = 1, 4 do print(i, select("#", coroutine.resume(multi))) end
local acc = coroutine.create(function()
  local total = 0
  while true do
    local n = coroutine.yield(total)
    if n == nil then break end
    total = total + n
  end
  return "final", total
end)
coroutine.resume(acc)
for i = 1, 5 do coroutine.resume(acc, i) end
print(coroutine.resume(acc))
print(coroutine.status(acc))
