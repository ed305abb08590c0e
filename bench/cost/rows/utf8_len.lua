-- `utf8.len(s)` of SIZE bytes.
local n = ...
local s = string.rep("é", n // 2)
return function()
  local _ = utf8.len(s)
end
