local T = setmetatable({}, {__name = "MyType"})
error(T)
