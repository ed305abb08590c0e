-- table.concat names a bad value by its plain type, never by __name (ltablib.c uses
-- luaL_typename), while bad-argument messages do use __name.
local T = setmetatable({}, {__name = "MyType"})
print(pcall(table.concat, {T}))
print(pcall(table.concat, {"a", "b", T}, ","))
print(pcall(table.concat, {1, 2, true}))
print(pcall(string.rep, T))
