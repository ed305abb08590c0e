-- Tables: table.insert and table.remove at ends and in the middle, and their errors.
local t = {}
table.insert(t, "a")
table.insert(t, "b")
table.insert(t, 1, "first")
table.insert(t, 3, "mid")
print(#t, table.concat(t, ","))
table.insert(t, #t + 1, "last")
print(table.concat(t, ","))
print(table.remove(t), table.concat(t, ","))
print(table.remove(t, 1), table.concat(t, ","))
print(table.remove(t, 2), table.concat(t, ","))
print(#t)
local e = {}
print(table.remove(e), #e)
print(table.remove(e, 0), table.remove(e, 1))
print(pcall(table.insert, {1, 2}, 5, "x"))
print(pcall(table.insert, {1, 2}, 0, "x"))
print(pcall(table.insert, {}, 1, 2, 3))
print(pcall(table.insert, nil, 1))
print(pcall(table.insert, {}))
print(pcall(table.remove, {1, 2, 3}, 7))
local r = {1, 2, 3}
print(table.remove(r, #r + 1), #r)
local s = {10, 20, 30, 40, 50}
while #s > 0 do io_x = (io_x or "") .. table.remove(s, 1) .. " " end
print(io_x) io_x = nil
local q = {}
for i = 1, 10 do table.insert(q, 1, i) end
print(table.concat(q, " "))
local z = {n = 0}
table.insert(z, "v")
print(z[1], z.n)
local mt = setmetatable({}, {__index = function(_, k) return nil end})
table.insert(mt, "x")
print(mt[1], #mt)
local nums = {1, 2, 3}
table.insert(nums, 2.0, "float pos")
print(table.concat(nums, ","))
print(pcall(table.insert, nums, 1.5, "x"))
print(table.remove({"only"}), table.remove({"a", "b"}, 1))
