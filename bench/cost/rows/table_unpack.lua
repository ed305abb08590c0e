-- `table.unpack(t)` of SIZE values.
local n = ...
local t = {}
for i = 1, n do t[i] = i end
return function()
  local _ = table.unpack(t)
end
