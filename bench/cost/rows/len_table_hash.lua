-- `#t` where the integer keys 1..SIZE live in the hash part (filled backwards).
local n = ...
local t = {}
for i = n, 1, -1 do t[i] = true end
return function()
  local _ = #t
end
