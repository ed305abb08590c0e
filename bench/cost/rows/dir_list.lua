-- `dir:list(path)` of a directory with SIZE entries.
local n = ...
local path = "d_" .. n
return function()
  local _ = caps.data:list(path)
end
