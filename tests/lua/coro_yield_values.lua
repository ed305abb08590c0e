-- Coroutines: yielding and resuming many values, nils, varargs and counts in both directions.
local co = coroutine.create(function(...)
  print("start count", select("#", ...))
  local r = table.pack(coroutine.yield(...))
  print("resumed with", r.n, r[1], r[2], r[3])
  r = table.pack(coroutine.yield())
  print("resumed with", r.n)
  return nil, nil, nil
end)
print(select("#", coroutine.resume(co, 1, nil, 3, nil)))
print(coroutine.resume(co, nil, "b", nil))
print(select("#", coroutine.resume(co)))
local big = coroutine.wrap(function()
  local t = {}
  for i = 1, 200 do t[i] = i end
  local back = table.pack(coroutine.yield(table.unpack(t)))
  return back.n, back[1], back[back.n]
end)
local vals = table.pack(big())
print(vals.n, vals[1], vals[200])
print(big(table.unpack(vals, 1, vals.n)))
local echo = coroutine.wrap(function(...)
  local args = table.pack(...)
  while true do args = table.pack(coroutine.yield(args.n, table.unpack(args, 1, args.n))) end
end)
print(echo())
print(echo(nil))
print(echo(nil, nil, 1))
print(echo("a", "b"))
local gen = coroutine.wrap(function() coroutine.yield() coroutine.yield(nil) coroutine.yield(false) return "last" end)
print(select("#", gen()), select("#", gen()), gen(), gen())
