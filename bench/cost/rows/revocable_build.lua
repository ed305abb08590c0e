-- Build a chain of SIZE `revocable` keys on a process key.
local n = ...
local p = spawn("return 1", { fuel = 10000, memory = "1M" })
return function()
  local k = p
  for _ = 1, n do k = revocable(k) end
end
