-- `gsub("a", "bb")` over SIZE `a`s: SIZE matches, 2*SIZE bytes out.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:gsub("a", "bb")
end
