-- `dir:write(path, s)` of SIZE bytes.
local n = ...
local s = string.rep("w", n)
local path = "out_" .. n .. ".bin"
return function()
  caps.data:write(path, s)
end
