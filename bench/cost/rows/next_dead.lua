-- `next(t)` on a table of SIZE hash keys of which all but the last were deleted.
local n = ...
local t = {}
for i = 1, n do t["k" .. i] = i end
for i = 1, n - 1 do t["k" .. i] = nil end
return function()
  local _ = next(t)
end
