-- `for p, c in utf8.codes(s)` over SIZE bytes.
local n = ...
local s = string.rep("é", n // 2)
return function()
  for _ in utf8.codes(s) do end
end
