-- `string.pack` of SIZE `i4` items.
local n = ...
local fmt = string.rep("i4", n)
local args = {}
for i = 1, n do args[i] = i end
return function()
  local _ = string.pack(fmt, table.unpack(args))
end
