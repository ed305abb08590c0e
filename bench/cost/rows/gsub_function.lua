-- `gsub("%w", f)` over SIZE bytes: a function replacement at every match.
local n = ...
local s = string.rep("a", n)
local function f() return "bb" end
return function()
  local _ = s:gsub("%w", f)
end
