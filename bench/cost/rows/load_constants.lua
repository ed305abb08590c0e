-- `load` of a constructor with SIZE distinct string constants (constant lookups).
local n = ...
local parts = {}
for i = 1, n do parts[i] = string.format("%q", "k" .. i) end
local src = "return {" .. table.concat(parts, ",") .. "}"
return function()
  local _ = assert(load(src))
end
