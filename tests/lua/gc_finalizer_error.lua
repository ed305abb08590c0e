-- An error in a finalizer goes no further (Lua makes it a warning, and warnings are off by
-- default): the program goes on where the finalizer interrupted it, and no pcall or xpcall
-- handler around that code sees the error.
setmetatable({}, {__gc = function () error("boom") end})
print(pcall(collectgarbage))
print("still running")

local t = setmetatable({}, {__gc = function () error("boom") end})
t = nil
for i = 1, 3e5 do local x = {} end   -- an automatic collection runs the finalizer
print("reached the end of the loop")

local ran = 0
print(pcall(function ()
  setmetatable({}, {__gc = function () ran = ran + 1; error({}) end})
  collectgarbage()
  return "body done"
end))
print(xpcall(function ()
  setmetatable({}, {__gc = function () ran = ran + 1; error("x") end})
  collectgarbage()
  return "body done"
end, function (m) return "handler: " .. tostring(m) end))
print("finalizers ran:", ran)

-- a pending to-be-closed variable of the finalizer is closed with its error
setmetatable({}, {__gc = function ()
  local c <close> = setmetatable({}, {__close = function (_, e) print("closed with", e) end})
  error("in gc", 0)
end})
collectgarbage()
print("after")

-- a finalizer that errors in a coroutine
local co = coroutine.wrap(function ()
  setmetatable({}, {__gc = function () error("in a coroutine") end})
  collectgarbage()
  coroutine.yield("yielded")
  return "returned"
end)
print(co(), co())
