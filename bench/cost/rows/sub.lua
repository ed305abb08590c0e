-- `s:sub(2, -2)` of a SIZE-byte string.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:sub(2, -2)
end
