-- `table.pack(...)` of SIZE values.
local n = ...
local t = {}
for i = 1, n do t[i] = i end
local function pack(...) return table.pack(...) end
return function()
  local _ = pack(table.unpack(t))
end
