-- `s:lower()` of a SIZE-byte string.
local n = ...
local s = string.rep("aB1", n // 3 + 1):sub(1, n)
return function()
  local _ = s:lower()
end
