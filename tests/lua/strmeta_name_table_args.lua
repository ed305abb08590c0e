-- luaL_typeerror names a string argument by the string metatable's __name in the table
-- library too.
getmetatable("").__name = "STR"
print(pcall(table.insert, {}, "x", 1))
print(pcall(table.unpack, {}, "x"))
print(pcall(table.remove, {}, "x"))
print(pcall(table.move, {}, "x", 1, 1))
getmetatable("").__name = nil
print(pcall(table.insert, {}, "x", 1))
