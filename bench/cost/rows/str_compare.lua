-- `<` and `==` on SIZE-byte strings that differ only at the end.
local n = ...
local a = string.rep("a", n - 1) .. "a"
local b = string.rep("a", n - 1) .. "b"
local a2 = string.rep("a", n)
return function()
  local _ = a < b, a <= b, a == a2
end
