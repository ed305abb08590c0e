-- `string.char` of SIZE arguments.
local n = ...
local codes = {}
for i = 1, n do codes[i] = 65 + i % 26 end
return function()
  local _ = string.char(table.unpack(codes))
end
