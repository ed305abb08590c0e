-- Tables: table.sort with default order, comparators, stability-free checks, errors.
local t = {5, 2, 8, 1, 9, 3}
table.sort(t)
print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " "))
local s = {"banana", "apple", "Cherry", "date"}
table.sort(s)
print(table.concat(s, " "))
table.sort(s, function(a, b) return a:lower() < b:lower() end)
print(table.concat(s, " "))
local recs = {{n = "b", v = 2}, {n = "a", v = 3}, {n = "c", v = 1}}
table.sort(recs, function(x, y) return x.v < y.v end)
for _, r in ipairs(recs) do io_s = (io_s or "") .. r.n end
print(io_s) io_s = nil
local mixed = {3, 1.5, 2, -1, 0.5}
table.sort(mixed)
print(table.concat(mixed, " "))
local e = {}
table.sort(e)
print(#e)
local one = {42}
table.sort(one)
print(one[1])
print(pcall(table.sort, {3, "a", 1}))
print(pcall(table.sort, {{}, {}}))
print(pcall(table.sort, nil))
print(pcall(table.sort, {1, 2}, 3))
local big = {}
for i = 1, 200 do big[i] = (i * 7919) % 211 end
table.sort(big)
local ok = true
for i = 2, #big do if big[i - 1] > big[i] then ok = false end end
print("sorted 200", ok, big[1], big[200])
local dup = {3, 1, 3, 2, 1, 3}
table.sort(dup)
print(table.concat(dup, ","))
local idx = {}
for i = 1, 10 do idx[i] = 11 - i end
table.sort(idx, function(a, b) return a % 3 < b % 3 or (a % 3 == b % 3 and a < b) end)
print(table.concat(idx, ","))
local mt = {__lt = function(a, b) return a.k < b.k end}
local objs = {}
for _, k in ipairs({4, 2, 9, 1}) do objs[#objs + 1] = setmetatable({k = k}, mt) end
table.sort(objs)
local ks = {}
for i, o in ipairs(objs) do ks[i] = o.k end
print(table.concat(ks, " "))
local strs = {"10", "9", "100", "1"}
table.sort(strs)
print(table.concat(strs, " "))
table.sort(strs, function(a, b) return tonumber(a) < tonumber(b) end)
print(table.concat(strs, " "))
