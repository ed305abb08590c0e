-- `s:byte(1, -1)`: SIZE results.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:byte(1, -1)
end
