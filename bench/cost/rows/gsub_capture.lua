-- `gsub("(%w)", "%1%1")` over SIZE bytes.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:gsub("(%w)", "%1%1")
end
