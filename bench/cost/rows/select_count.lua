-- `select('#', ...)` with SIZE values.
local n = ...
local args = {}
for i = 1, n do args[i] = i end
local function count(...) return select("#", ...) end
return function()
  local _ = count(table.unpack(args))
end
