-- `pcall(error, t)` with a SIZE-entry table as the error value.
local n = ...
local t = {}
for i = 1, n do t[i] = i end
return function()
  local _ = pcall(error, t)
end
