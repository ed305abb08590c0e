-- Base library: traversal with next/pairs while clearing or updating existing fields (allowed).
local t = {}
for i = 1, 20 do t["k" .. i] = i end
local cleared = 0
for k, v in pairs(t) do
  if v % 2 == 0 then t[k] = nil cleared = cleared + 1 end
end
local left = 0
for _ in pairs(t) do left = left + 1 end
print(cleared, left)
for k, v in pairs(t) do t[k] = v * 100 end
local sum = 0
for _, v in pairs(t) do sum = sum + v end
print(sum)
local arr = {1, 2, 3, 4, 5}
for i, v in ipairs(arr) do arr[i] = v * v end
print(table.concat(arr, " "))
local k, v = next(t)
local steps = 0
while k do steps = steps + 1 k, v = next(t, k) end
print("steps", steps)
local empty_after = {a = 1, b = 2, c = 3}
for key in pairs(empty_after) do empty_after[key] = nil end
print(next(empty_after))
local mixed = {10, 20, 30, x = "x", y = "y"}
local ints, strs = 0, 0
for key in pairs(mixed) do if math.type(key) == "integer" then ints = ints + 1 else strs = strs + 1 end end
print(ints, strs)
local first = next({"only"})
print(first, next({}, nil), rawequal(next, pairs({})))
print(pcall(next, {}, 1))
print(pcall(next, {a = 1}, "b"))
