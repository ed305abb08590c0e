local a <close> = setmetatable({}, {__close = function(_, e) print("a", e) end})
local x = nil
print(x.y)
