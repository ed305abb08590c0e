-- `collectgarbage("step")` with SIZE live small tables and some garbage each time.
local n = ...
local t = {}
for i = 1, n do t[i] = { i } end
return function()
  for _ = 1, 10 do local _ = {} end
  collectgarbage("step")
end
