-- Table library: concat, unpack, pack, insert/remove in the middle, nested tables and copies.
local checksum = 0
local ROUNDS = BENCH_SMALL and 2 or 40
for round = 1, ROUNDS do
  local t = {}
  for i = 1, 5000 do t[i] = i end
  local copy = {table.unpack(t, 1, 200)}
  local packed = table.pack(table.unpack(copy))
  checksum = checksum + packed.n + #table.concat(copy, " ")
  for i = 1, 300 do table.insert(t, 2500, i) end
  for _ = 1, 300 do table.remove(t, 2500) end
  local grid = {}
  for y = 1, 100 do local row = {} for x = 1, 100 do row[x] = x * y end grid[y] = row end
  local s = 0
  for y = 1, 100 do local row = grid[y] for x = 1, 100 do s = s + row[x] end end
  local rev = {}
  for i = #t, 1, -1 do rev[#rev + 1] = t[i] end
  checksum = (checksum + s + rev[1] + #t) % 1000000007
end
print("table_ops", checksum)
