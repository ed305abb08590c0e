-- `string.pack("s4", s)` of a SIZE-byte string.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = string.pack("s4", s)
end
