-- Multi-operand concatenation: four SIZE/4-byte strings in one `..` expression.
local n = ...
local a = string.rep("a", n // 4)
return function()
  local _ = a .. a .. a .. a
end
