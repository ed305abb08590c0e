-- `dir:write(path, s)` of SIZE bytes to a new file each time (then removed): the file
-- system's most expensive changes.
local n = ...
local s = string.rep("w", n)
local i = 0
return function()
  i = i + 1
  local path = "new_" .. n .. "_" .. i .. ".bin"
  caps.data:write(path, s)
  caps.data:remove(path)
end
