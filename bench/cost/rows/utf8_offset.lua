-- `utf8.offset(s, k)` with k = SIZE/4 (a scan of SIZE/2 bytes) over SIZE bytes.
local n = ...
local s = string.rep("é", n // 2)
local k = n // 4 + 1
return function()
  local _ = utf8.offset(s, k)
end
