-- `find(needle)` where needle has no pattern specials: same worst case as find_plain.
local n = ...
local s = string.rep("a", n)
local needle = string.rep("a", n // 2) .. "b"
return function()
  local _ = s:find(needle)
end
