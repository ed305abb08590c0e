-- Cost of a fresh process: spawn a child, let it run a tiny chunk, collect its result.
-- Under lua5.4 (no processes) the nearest equivalent is a fresh coroutine doing the same.
-- ops: 3000
local N = 3000
local sum = 0
if spawn then
  for i = 1, N do
    local p = spawn("return 1", {fuel = 1000, memory = "1M"})
    sum = sum + p:wait()
  end
else
  for i = 1, N do
    local co = coroutine.create(function() return 1 end)
    local _, v = coroutine.resume(co)
    sum = sum + v
  end
end
print("spawned", sum)
