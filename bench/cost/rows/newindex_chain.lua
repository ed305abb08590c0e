-- `t.k = v` through a chain of SIZE tables linked by `__newindex`.
local n = ...
local t = {}
for _ = 1, n do t = setmetatable({}, { __newindex = t }) end
return function()
  t.k = 1
end
