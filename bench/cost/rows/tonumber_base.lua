-- `tonumber(s, 36)` of SIZE digits.
local n = ...
local s = string.rep("z", n)
return function()
  local _ = tonumber(s, 36)
end
