-- Filling a fresh table's hash part with SIZE keys (every rehash on the way).
local n = ...
return function()
  local t = {}
  for i = 1, n do t[-i] = true end
end
