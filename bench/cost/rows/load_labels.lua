-- `load` of SIZE labels followed by SIZE gotos to the last one (label lookups).
local n = ...
local parts = {}
for i = 1, n do parts[#parts + 1] = "::l" .. i .. ":: x = 1" end
parts[#parts + 1] = string.rep(" goto l" .. n, n)
local src = "do " .. table.concat(parts, " ") .. " end"
return function()
  local _ = assert(load(src))
end
