-- `file:read(n)` of SIZE bytes, after `seek("set", 0)`.
local n = ...
local f = caps.data:open("f_" .. n .. ".bin", "r")
return function()
  f:seek("set", 0)
  local _ = f:read(n)
end
