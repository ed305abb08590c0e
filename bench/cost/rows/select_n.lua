-- `select(2, ...)` with SIZE values: SIZE-1 results.
local n = ...
local args = {}
for i = 1, n do args[i] = i end
local function rest(...) return select(2, ...) end
return function()
  local _ = rest(table.unpack(args))
end
