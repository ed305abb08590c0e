-- Cost of a cross-process call round trip among many processes: as cross_call.lua, with 1000
-- idle processes alive beside the two that talk. A call should not cost more because others
-- exist. Under lua5.4 (no processes) the nearest equivalent is 1000 suspended coroutines and
-- a plain function call.
local N = 100000
local M = 1000
local sum = 0
local idle = {}
if spawn then
  for i = 1, M do
    idle[i] = spawn("return 1", {fuel = 1000, memory = "1M"})
    idle[i]:wait()
  end
  local lib = spawn("function add(a, b) return a + b end", {name = "lib"})
  lib:wait()
  for i = 1, N do sum = lib:call("add", sum, 1) end
else
  for i = 1, M do
    idle[i] = coroutine.create(function() coroutine.yield() end)
    coroutine.resume(idle[i])
  end
  local function add(a, b) return a + b end
  for i = 1, N do sum = add(sum, 1) end
end
print("called", sum, #idle)
