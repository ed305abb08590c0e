-- `match("^(a*)$")` over SIZE `a`s: one SIZE-byte capture.
local n = ...
local s = string.rep("a", n)
return function()
  local _ = s:match("^(a*)$")
end
