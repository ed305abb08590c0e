-- __tostring may return a number; tostring converts it to a string (lua_tolstring).
local o = setmetatable({}, {__tostring = function() return 1 end})
print(type(tostring(o)), tostring(o))
local f = setmetatable({}, {__tostring = function() return 2.5 end})
print(type(tostring(f)), tostring(f), math.type(tostring(f)))
print(o, f)
print(string.format("%s|%s", o, f))
print(pcall(tostring, setmetatable({}, {__tostring = function() return true end})))
