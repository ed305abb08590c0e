-- table.sort keeps its machine's registers in locals between exits; a register must keep
-- the very value it held (1 and 1.0, 0.0 and -0.0 are different values), whatever the
-- comparator makes the machine do between two of its calls.
local t = {}
for i = 1, 200 do t[i] = (i % 3 == 0) and (i % 7) + 0.0 or (i % 7) end
table.sort(t, function(a, b) return a > b end)
local out = {}
for i = 1, #t do out[#out + 1] = math.type(t[i]):sub(1, 1) .. tostring(t[i]) end
print(table.concat(out, " "))
local u = {}
for i = 1, 300 do u[i] = (i % 2 == 0) and -0.0 or 0.0 end
table.sort(u, function(a, b) return false end)
local z = {}
for i = 1, #u do z[#z + 1] = tostring(1 / u[i]) end
print(table.concat(z, " "))
