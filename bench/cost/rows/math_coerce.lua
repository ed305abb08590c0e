-- A library function given a SIZE-digit numeric string (`math.abs(s)`).
local n = ...
local s = string.rep("1", n)
return function()
  local _ = math.abs(s)
end
