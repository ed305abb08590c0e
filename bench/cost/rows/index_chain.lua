-- `t.k` through a chain of SIZE tables linked by `__index`.
local n = ...
local t = {}
for _ = 1, n do t = setmetatable({}, { __index = t }) end
return function()
  local _ = t.k
end
