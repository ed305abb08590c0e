-- `("%s|%s"):format(s, s)` with a SIZE/2-byte string.
local n = ...
local s = string.rep("a", n // 2)
return function()
  local _ = ("%s|%s"):format(s, s)
end
