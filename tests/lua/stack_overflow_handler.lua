-- After a stack overflow, a message handler has room to run (Lua's ERRORSTACKSIZE); a new
-- overflow while it runs is an error in error handling; once the error is caught, the stack
-- has its whole room again.
local function loop () return 1 + loop() end
print(xpcall(loop, function (m) return 15 end))
print((select(2, xpcall(loop, function (m) return m end)):match("stack overflow")))
print(xpcall(loop, function (m)
  local ok, e = pcall(loop)
  return tostring(ok) .. " " .. e .. " " .. math.sin(0)
end))
print((select(2, pcall(loop)):match("stack overflow")))
print(xpcall(loop, function (m) return 16 end))
print(xpcall(loop, loop))
local depth = 0
local function count () depth = depth + 1; return 1 + count() end
print(xpcall(count, function (m) return depth > 1000 end))
-- in a coroutine
print(coroutine.wrap(function () return xpcall(loop, function () return "handled" end) end)())
