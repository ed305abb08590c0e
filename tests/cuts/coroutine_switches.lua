-- Switches of every kind: resume and yield called by instructions (which the VM takes itself
-- when they are plain), a wrapped coroutine's function called by a generic for, a resume
-- called by a native (pcall), a fresh coroutine's first resume and its return.
local co = coroutine.create(function(a)
  while true do a = coroutine.yield(a * 2, a) end
end)
local total = 0
for x, y in coroutine.wrap(function() for i = 1, 8 do coroutine.yield(i, -i) end end) do
  local _, v, w = coroutine.resume(co, x)
  local _, ok, u = pcall(coroutine.resume, co, y)
  local fresh = coroutine.create(function(a) return a + coroutine.yield(a) end)
  local _, b = coroutine.resume(fresh, x)
  local _, c = coroutine.resume(fresh, b)
  total = total + v + w + u + b + c
  print("round", x, v, w, ok, u, b, c, coroutine.status(fresh))
end
print("total", total)
