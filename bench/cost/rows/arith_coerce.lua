-- Arithmetic on a SIZE-digit numeric string (`s + 0` coerces it).
local n = ...
local s = string.rep("1", n)
return function()
  local _ = s + 0
end
