-- `print(s)` of a SIZE-byte string to the console.
local n = ...
local s = string.rep("p", n)
return function()
  print(s)
end
