-- `t()` through a chain of SIZE tables linked by `__call` (each adds an argument).
local n = ...
local t = setmetatable({}, { __call = function() end })
for _ = 1, n do t = setmetatable({}, { __call = t }) end
return function()
  t()
end
