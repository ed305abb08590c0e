-- A full `collectgarbage()` with one live array of SIZE numbers.
local n = ...
local t = {}
for i = 1, n do t[i] = i end
return function()
  collectgarbage()
end
