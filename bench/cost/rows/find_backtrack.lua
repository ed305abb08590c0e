-- `find("a*b")` over SIZE `a`s: quadratic backtracking (as in lua5.4; priced per step).
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:find("a*b")
end
