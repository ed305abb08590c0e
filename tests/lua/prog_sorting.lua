-- Program: hand-written quicksort, mergesort, insertion sort and binary search, cross-checked.
local function insertion(t)
  for i = 2, #t do
    local v, j = t[i], i - 1
    while j >= 1 and t[j] > v do t[j + 1] = t[j] j = j - 1 end
    t[j + 1] = v
  end
  return t
end
local function quick(t, lo, hi)
  lo, hi = lo or 1, hi or #t
  if lo >= hi then return t end
  local p, i = t[(lo + hi) // 2], lo
  local j = hi
  while i <= j do
    while t[i] < p do i = i + 1 end
    while t[j] > p do j = j - 1 end
    if i <= j then t[i], t[j] = t[j], t[i] i, j = i + 1, j - 1 end
  end
  quick(t, lo, j) quick(t, i, hi)
  return t
end
local function merge(t)
  if #t <= 1 then return t end
  local mid = #t // 2
  local a, b = merge({table.unpack(t, 1, mid)}), merge({table.unpack(t, mid + 1)})
  local out, i, j = {}, 1, 1
  while i <= #a and j <= #b do
    if a[i] <= b[j] then out[#out + 1] = a[i] i = i + 1 else out[#out + 1] = b[j] j = j + 1 end
  end
  for k = i, #a do out[#out + 1] = a[k] end
  for k = j, #b do out[#out + 1] = b[k] end
  return out
end
local function bsearch(t, v)
  local lo, hi = 1, #t
  while lo <= hi do
    local mid = (lo + hi) // 2
    if t[mid] == v then return mid elseif t[mid] < v then lo = mid + 1 else hi = mid - 1 end
  end
  return nil
end
local seed = 7
local function rnd() seed = (seed * 16807) % 2147483647 return seed % 1000 end
local data = {}
for i = 1, 300 do data[i] = rnd() end
local function copy(t) return {table.unpack(t)} end
local a, b, c, d = insertion(copy(data)), quick(copy(data)), merge(copy(data)), copy(data)
table.sort(d)
local same = true
for i = 1, #d do if a[i] ~= d[i] or b[i] ~= d[i] or c[i] ~= d[i] then same = false end end
print("all sorts agree", same, d[1], d[150], d[300])
print(table.concat(quick({5, -1, 3.5, 0, 2}), " "), table.concat(merge({"pear", "fig", "apple"}), " "))
print(bsearch(d, d[100]) ~= nil, bsearch(d, 1001), bsearch({1, 3, 5, 7}, 5), bsearch({}, 1))
