-- `string.unpack` of SIZE `i4` items.
local n = ...
local fmt = string.rep("i4", n)
local data = string.rep("\1\0\0\0", n)
return function()
  local _ = string.unpack(fmt, data)
end
