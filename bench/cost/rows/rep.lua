-- `string.rep` to SIZE bytes, without and with a separator.
local n = ...
return function()
  local _ = string.rep("ab", n // 2)
  local _ = string.rep("a", n // 2, ",")
end
