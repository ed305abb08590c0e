-- `for k in pairs(t)` over SIZE-1 dead slots and one live key.
local n = ...
local t = {}
for i = 1, n do t["k" .. i] = i end
for i = 1, n - 1 do t["k" .. i] = nil end
return function()
  for _ in pairs(t) do end
end
