-- Calling a table whose __call is not callable. As a plain call the error has position and
-- variable name; as a tail call Tessera lost both.
print(pcall(function() local t = setmetatable({}, {__call = 'str'}) t(1, 2) end))
print(pcall(function() local t = setmetatable({}, {__call = 'str'}) return t(1, 2) end))
print(pcall(function() return setmetatable({}, {__call = 1})() end))
print(pcall(function() local t = setmetatable({}, {__call = setmetatable({}, {__call = 2})}) return t() end))
print(pcall(function() local t = setmetatable({}, {__call = {}}) local r = t() return r end))
print(pcall(function() local t = setmetatable({}, {__call = {}}) return t() end))
print(pcall(function() local x = 1 return x() end))
