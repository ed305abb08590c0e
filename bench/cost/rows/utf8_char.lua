-- `utf8.char` of SIZE code points.
local n = ...
local cps = {}
for i = 1, n do cps[i] = 0x41 + i % 0x10000 end
return function()
  local _ = utf8.char(table.unpack(cps))
end
