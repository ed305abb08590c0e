-- `string.unpack("s4", data)` of a SIZE-byte string.
local n = ...
local data = string.pack("s4", string.rep("a", n))
return function()
  local _ = string.unpack("s4", data)
end
