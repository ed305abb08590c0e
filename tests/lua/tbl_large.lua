-- Tables: large arrays and hashes (100k entries), growth, shrinking and iteration counts.
local t = {}
for i = 1, 100000 do t[i] = i * 2 end
print(#t, t[1], t[50000], t[100000])
local sum = 0
for i = 1, #t do sum = sum + t[i] end
print(sum)
for i = 100000, 50001, -1 do t[i] = nil end
print(#t)
local h = {}
for i = 1, 50000 do h["k" .. i] = i end
local n, s = 0, 0
for k, v in pairs(h) do n = n + 1 s = s + v end
print(n, s)
for i = 1, 50000, 2 do h["k" .. i] = nil end
n = 0
for _ in pairs(h) do n = n + 1 end
print(n, h.k2, h.k1)
local mixed = {}
for i = 1, 1000 do mixed[i] = i mixed["s" .. i] = i mixed[i + 0.5] = i end
n = 0
for _ in pairs(mixed) do n = n + 1 end
print(#mixed, n)
local sparse = {}
for i = 1, 1000 do sparse[i * 1000] = i end
n = 0
for _ in pairs(sparse) do n = n + 1 end
print(n, sparse[500000])
local grow = {}
for i = 1, 20 do grow[#grow + 1] = {} for j = 1, 500 do grow[i][j] = j end end
print(#grow, #grow[20], grow[20][500])
local keys = {}
for i = 1, 100 do keys[#keys + 1] = -i end
local neg = {}
for _, k in ipairs(keys) do neg[k] = true end
n = 0
for _ in pairs(neg) do n = n + 1 end
print(n, neg[-50], #neg)
