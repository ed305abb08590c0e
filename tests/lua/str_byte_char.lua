-- Strings: string.byte and string.char conversions and their limits.
print(string.byte("A"), string.byte("ABC", 2), string.byte("ABC", -1))
print(string.byte("ABC", 1, 3))
print(string.byte("ABC", 1, -1))
print(string.byte("ABC", 10), select("#", string.byte("ABC", 10)))
print(select("#", string.byte("")), string.byte("abc", 0))
print(string.byte("hello", -3, -2))
print(string.char(72, 105), string.char() == "", #string.char(0, 0))
print(string.char(255):byte(), string.char(0):byte())
print(pcall(string.char, 256))
print(pcall(string.char, -1))
print(pcall(string.char, "x"))
print(string.char("65", 66.0))
print(pcall(string.char, 65.5))
local bytes = {string.byte("Lua 5.4", 1, -1)}
print(#bytes, table.concat(bytes, ","))
print(string.char(table.unpack(bytes)))
print(("xyz"):byte(-10, 10))
local s = ""
for i = 97, 122 do s = s .. string.char(i) end
print(s)
print(("\n"):byte(), ("\t"):byte(), ("\\"):byte())
print(string.byte(123, 2))
local round = {}
for i = 0, 255, 51 do round[#round + 1] = string.char(i):byte() end
print(table.concat(round, " "))
print(pcall(string.byte))
