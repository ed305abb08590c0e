-- `{...}` with SIZE values: SETLIST of a vararg list.
local n = ...
local src = {}
for i = 1, n do src[i] = i end
local function make(...) return { ... } end
return function()
  local _ = make(table.unpack(src))
end
