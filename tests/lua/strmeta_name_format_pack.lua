-- string.format and string.pack name a string argument by the string metatable's __name in
-- their bad-argument messages (luaL_typeerror), and otherwise treat it as any string.
getmetatable("").__name = "STR"
print(pcall(string.format, "%d", "x"))
print(pcall(string.format, "%d", "10"))
print(pcall(string.format, "%5.1f|%s|%q|%x", "2.5", "abc", "q\n", "255"))
print(pcall(string.format, "%c", "x"))
print(pcall(string.pack, "i4", "x"))
print(pcall(string.pack, "z", "abc"))
print(pcall(string.pack, "i4", {}))
getmetatable("").__name = nil
print(pcall(string.format, "%d", "x"))
