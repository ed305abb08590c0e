-- `p:status()` while SIZE other processes are alive (a trap must not scan them all).
local n = ...
local keep = {}
for i = 1, n do keep[i] = spawn("return 1", { fuel = 10000, memory = "1M" }) end
local p = keep[1]
return function()
  local _ = p:status()
end
