-- Strings: building long strings by concatenation, rep and table.concat; length and slicing.
local s = ""
for i = 1, 1000 do s = s .. "x" end
print(#s)
local big = string.rep("abcdefghij", 100000)
print(#big, big:sub(1, 5), big:sub(-5), big:sub(500001, 500010))
local parts = {}
for i = 1, 10000 do parts[i] = string.format("%05d", i) end
local joined = table.concat(parts)
print(#joined, joined:sub(1, 15), joined:sub(-10))
local count = select(2, big:gsub("a", "a"))
print(count)
print(big:find("jab", 1, true), big:find("jab", 999990, true))
local lines = {}
for i = 1, 100 do lines[i] = ("line %d"):format(i) end
local doc = table.concat(lines, "\n")
local n = 0
for _ in doc:gmatch("[^\n]+") do n = n + 1 end
print(#doc, n)
local doubled = "ab"
for _ = 1, 20 do doubled = doubled .. doubled end
print(#doubled, doubled:byte(#doubled))
print(big == string.rep("abcdefghij", 100000), big < big .. "a")
local rev = big:reverse()
print(rev:sub(1, 10), #rev)
print(#(big:upper()), big:upper():sub(1, 3))
print(#string.rep("", 1e6), #string.rep("a", 0), #string.rep("ab", 3, string.rep("-", 1000)))
