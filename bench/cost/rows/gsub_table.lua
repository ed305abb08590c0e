-- `gsub("%w", t)` over SIZE bytes: a table replacement at every match.
local n = ...
local s = string.rep("a", n)
local t = { a = "bb" }
return function()
  local _ = s:gsub("%w", t)
end
