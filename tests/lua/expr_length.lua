-- Expressions: the length operator on strings and proper sequences.
print(#"", #"a", #"hello", #"\0\0\0", #"héllo")
print(#{}, #{1}, #{1, 2, 3}, #{"a", "b"})
local t = {}
for i = 1, 100 do t[i] = i end
print(#t)
t[#t + 1] = 101
print(#t)
t[#t] = nil
print(#t)
local u = {}
table.insert(u, "a") table.insert(u, "b")
print(#u)
table.remove(u)
print(#u)
local v = {n = 5, 1, 2}
print(#v)
local w = {[1] = 1, [2] = 2, [3] = 3}
print(#w)
local x = {table.unpack({1, 2, 3, 4})}
print(#x)
print(#{(function() return 1, 2, 3 end)()})
print(#{(function() return 1, 2, 3 end)(), "last"})
local s = "abc"
print(#s, s:len(), string.len(s))
print(pcall(function() return #nil end))
print(pcall(function() return #5 end))
print(pcall(function() local n = 1 return #n end))
print(pcall(function() local t = {} return #t.x end))
local y = {}
for i = 1, 10 do y[i] = true end
for i = 10, 6, -1 do y[i] = nil end
print(#y)
print(#{nil}, #{nil, nil})
print(#string.rep("ab", 50))
print(#{...}, select("#", ...))
local big = {}
for i = 1, 1000 do big[#big + 1] = i end
print(#big, big[#big])
print(#"\u{10FFFF}", #tostring(12.5))
