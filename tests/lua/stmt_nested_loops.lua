-- Statements: nested loops with break in inner loops, loop variables shadowing, mixed loop kinds.
local found
for i = 1, 10 do
  for j = 1, 10 do
    if i * j == 42 then found = i .. "x" .. j break end
  end
  if found then break end
end
print(found)
local pairs_seen = 0
for i = 1, 5 do
  local j = 0
  while true do
    j = j + 1
    if j > i then break end
    pairs_seen = pairs_seen + 1
  end
end
print(pairs_seen)
local out = {}
for i = 1, 3 do
  for i = i, 3 do out[#out + 1] = i end
end
print(table.concat(out, ""))
local k = 0
repeat
  for _, v in ipairs({1, 2, 3}) do
    if v == 2 then break end
    k = k + v
  end
  k = k + 10
until k > 30
print(k)
local matrix = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
local diag = {}
for r, row in ipairs(matrix) do for c, v in ipairs(row) do if r == c then diag[#diag + 1] = v end end end
print(table.concat(diag, ","))
local count = 0
for a = 1, 20 do
  for b = a, 20 do
    for c = b, 20 do
      if a * a + b * b == c * c then count = count + 1 end
    end
  end
end
print("pythagorean triples", count)
local labels = {}
for i = 3, 1, -1 do
  for j = 1, i do
    if j == 2 then goto next_i end
    labels[#labels + 1] = i .. j
  end
  ::next_i::
end
print(table.concat(labels, " "))
