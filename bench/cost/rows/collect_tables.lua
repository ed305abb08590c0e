-- A full `collectgarbage()` with SIZE live small tables.
local n = ...
local t = {}
for i = 1, n do t[i] = { i } end
return function()
  collectgarbage()
end
