-- Metamethods calling themselves: each metamethod call is a C-level call in the reference,
-- limited to about 200 nested ones ("C stack overflow", with the position of the Lua code).
local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end})
print(pcall(function() return t[1] end))
local depth = 0
local u = setmetatable({}, {__index = function(t, k) depth = depth + 1 return t[k + 1] end})
pcall(function() return u[1] end)
print(depth > 150 and depth < 250)
local a = setmetatable({}, {__add = function(x, y) return x + y end})
print(pcall(function() return a + 1 end))
local c = setmetatable({}, {__concat = function(x, y) return x .. y end})
print(pcall(function() return c .. 'x' end))
-- Plain Lua recursion is limited by the Lua stack instead.
local function f(n) return 1 + f(n + 1) end
print(pcall(f, 1))
