-- `table.concat(t, ",")` of SIZE short strings.
local n = ...
local t = {}
for i = 1, n do t[i] = "ab" end
return function()
  local _ = table.concat(t, ",")
end
