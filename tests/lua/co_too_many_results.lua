-- A coroutine that returns more values than its resumer's stack can hold: resume answers
-- false, "too many results to resume" (lua5.4's lua_checkstack), and the coroutine is dead.
local t = {}
for i = 1, 999990 do t[i] = i end
local co = coroutine.create(function () return table.unpack(t) end)
local r = table.pack(coroutine.resume(co))
print(r.n, r[1], r[2], coroutine.status(co))
print(coroutine.resume(co))

local f = coroutine.wrap(function () return table.unpack(t) end)
print(pcall(f))

-- near the limit, and well within it
for _, n in ipairs{999000, 1000} do
  co = coroutine.create(function () return table.unpack(t, 1, n) end)
  r = table.pack(coroutine.resume(co))
  print(n, r.n, r[1], r[n + 1])
end
