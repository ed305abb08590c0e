-- Cost of a cross-process call round trip: call a function of another process and get its
-- result back. Under lua5.4 (no processes) the nearest equivalent is a plain function call.
-- ops: 100000
local N = 100000
local sum = 0
if spawn then
  local lib = spawn("function add(a, b) return a + b end", {name = "lib"})
  lib:wait()
  for i = 1, N do sum = lib:call("add", sum, 1) end
else
  local function add(a, b) return a + b end
  for i = 1, N do sum = add(sum, 1) end
end
print("called", sum)
