-- Tables: lengths of proper sequences built by constructors, loops, insert and unpack.
local a = {}
for i = 1, 10 do a[i] = i end
print(#a)
local b = {}
for i = 1, 10 do b[#b + 1] = i end
print(#b)
local c = {}
for i = 1, 10 do table.insert(c, i) end
print(#c)
local d = {table.unpack(c)}
print(#d)
local e = {}
for i = 10, 1, -1 do e[i] = i end
print(#e)
for i = 10, 6, -1 do e[i] = nil end
print(#e)
local f = {}
f[1] = 1 f[2] = 2 f[3] = 3
print(#f)
f[3] = nil
print(#f)
f[2] = nil f[1] = nil
print(#f)
local g = {n = 1, [1] = "a", [2] = "b"}
print(#g)
local h = {}
for i = 1, 1000 do h[i] = true end
print(#h)
while #h > 500 do h[#h] = nil end
print(#h)
local s = {"x"}
s[#s + 1] = "y"
s[#s + 1] = "z"
print(#s, table.concat(s))
local strs = {}
for w in ("a b c d"):gmatch("%a") do strs[#strs + 1] = w end
print(#strs)
local copy = {}
for i, v in ipairs(strs) do copy[i] = v end
print(#copy)
print(#{...})
local function count(...) return #{...} end
print(count(1, 2, 3), count())
local lt = setmetatable({}, {__len = function() return 7 end})
print(#lt)
