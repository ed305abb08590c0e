-- `table.concat` of SIZE items whose last is not a string: fails at the end.
local n = ...
local t = {}
for i = 1, n - 1 do t[i] = "ab" end
t[n] = {}
return function()
  local _ = pcall(table.concat, t)
end
