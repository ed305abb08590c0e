-- `("%q"):format(s)` of SIZE bytes of binary data (every byte value).
local n = ...
local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
local s = string.rep(table.concat(all), n // 256 + 1):sub(1, n)
return function()
  local _ = ("%q"):format(s)
end
