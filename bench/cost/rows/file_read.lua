-- `dir:read(path)` of a SIZE-byte file.
local n = ...
local path = "f_" .. n .. ".bin"
return function()
  local _ = caps.data:read(path)
end
