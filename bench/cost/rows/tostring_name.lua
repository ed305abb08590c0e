-- `tostring(t)` where t's metatable has a SIZE-byte `__name`.
local n = ...
local t = setmetatable({}, { __name = string.rep("x", n) })
return function()
  local _ = tostring(t)
end
