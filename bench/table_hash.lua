-- Hash tables: string and integer keys, lookups, updates, deletion and pairs traversal.
local ROUNDS, N = 5, 100000
if BENCH_SMALL then ROUNDS, N = 1, 25000 end
local checksum = 0
for round = 1, ROUNDS do
  local h = {}
  for i = 1, N do h["key" .. i] = i end
  local s = 0
  for i = 1, N, 3 do s = s + h["key" .. i] end
  local ints = {}
  for i = 1, N do ints[i * 7919 % 1000003] = i end
  for i = 1, N, 2 do ints[i * 7919 % 1000003] = nil end
  local n = 0
  for k, v in pairs(ints) do n = n + 1 s = s + v end
  local counts = {}
  for i = 1, 2 * N do local k = i % 1000 counts[k] = (counts[k] or 0) + 1 end
  checksum = (checksum + s + n + counts[7]) % 1000000007
end
print("table_hash", checksum)
