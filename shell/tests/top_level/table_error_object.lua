local t <close> = setmetatable({}, {__close = function(_, e) print("closing with", type(e)) end})
error({code = 1})
