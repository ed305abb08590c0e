-- `find("%d")` over SIZE letters: a match tried at every position.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:find("%d")
end
