local a <close> = setmetatable({}, {__close = function(_, e) print("a", e) end})
error(setmetatable({}, {__tostring=function() return 42 end}))
