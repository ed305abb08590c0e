-- `s = s .. "x"` in a loop: each step copies the whole string (up to SIZE bytes).
local n = ...
local s = ""
return function()
  s = s .. "x"
  if #s >= n then s = "" end
end
