-- xpcall's handler runs wherever the error was raised: below a thousand Lua calls, and after
-- a C-stack overflow (in the room Lua keeps for handling it).
local function loop(x) return 1 + loop(x) end
print(xpcall(loop, loop))
print(xpcall(function() error("e1") end, function() error("in handler") end))
print(xpcall(function() error("e1") end, function(m) return "handled: " .. m end))
local function deep(n) if n == 0 then error("bottom") end return deep(n - 1) + 1 end
print(xpcall(deep, function(m) return "h " .. m end, 5000))
local function h() local function r(k) if k == 0 then error("deep in handler") end return r(k - 1) end return r(300) end
print(xpcall(deep, h, 10))

-- An error in the handler calls the handler again, as Lua does, until it succeeds or the
-- C-stack room runs out.
print(xpcall(error, error, "x"))
print(xpcall(error, function(m) error(m .. "!") end, "y"))
local o = setmetatable({}, {__tostring = function() error("tserr") end})
print(select(2, xpcall(error, function(m) return tostring(m) end, o)))

-- A handler that errors in a tail call nests one C call deeper each time it is called
-- again (Lua counts about 215 calls here, then gives up).
local calls = 0
local function h2() calls = calls + 1 local function r(k) if k == 0 then error("deep") end return r(k - 1) end return r(3) end
print(xpcall(deep, h2, 10))
print(calls > 150 and calls <= 220)

-- From the official cstack.lua ("limits in coroutines inside deep calls"), without the
-- count (Lua counts the C calls of its own command line).
local lim = 1000
local function stack(n)
  if n > 0 then return stack(n - 1) + 1
  else coroutine.wrap(function () stack(lim) end)()
  end
end
local st, msg = xpcall(stack, function () return "ok" end, lim)
print(st, msg)
