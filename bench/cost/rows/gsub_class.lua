-- `gsub` with a SIZE-byte character class over 100 bytes that never match it.
local n = ...
local s = string.rep("z", 100)
local class = "[" .. string.rep("a", n) .. "]"
return function()
  local _ = s:gsub(class, "x")
end
