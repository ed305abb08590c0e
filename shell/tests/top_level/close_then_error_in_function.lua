local function f() local t <close> = setmetatable({}, {__close = function() print("closed") end}) local x = nil; return x.y end f()
