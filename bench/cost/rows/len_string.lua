-- `#s` on a SIZE-byte string.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = #s + #s + #s
end
