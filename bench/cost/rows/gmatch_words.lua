-- `for w in s:gmatch("%a+")` over SIZE bytes of 3-letter words.
local n = ...
local s = string.rep("abc ", n // 4)
return function()
  for _ in s:gmatch("%a+") do end
end
