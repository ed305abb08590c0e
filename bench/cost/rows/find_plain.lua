-- `find(needle, 1, true)`: SIZE `a`s, needle SIZE/2 `a`s and a `b` (naive search: quadratic).
local n = ...
local s = string.rep("a", n)
local needle = string.rep("a", n // 2) .. "b"
return function()
  local _ = s:find(needle, 1, true)
end
