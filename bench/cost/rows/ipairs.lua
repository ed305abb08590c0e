-- `for i, v in ipairs(t)` over SIZE elements.
local n = ...
local t = {}
for i = 1, n do t[i] = i end
return function()
  for _ in ipairs(t) do end
end
