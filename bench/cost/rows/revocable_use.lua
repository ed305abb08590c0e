-- `k:status()` through a chain of SIZE `revocable` keys.
local n = ...
local k = spawn("return 1", { fuel = 10000, memory = "1M" })
for _ = 1, n do k = revocable(k) end
return function()
  local _ = k:status()
end
