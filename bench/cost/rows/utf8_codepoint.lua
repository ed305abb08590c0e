-- `utf8.codepoint(s, 1, -1)` over SIZE two-byte characters: SIZE results.
local n = ...
local s = string.rep("é", n)
return function()
  local _ = utf8.codepoint(s, 1, -1)
end
