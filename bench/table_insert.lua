-- Table insertion: append with table.insert and t[#t+1], insert/remove at the front, pops.
local ROUNDS, N, F = 10, 200000, 2000
if BENCH_SMALL then ROUNDS, N, F = 1, 100000, 1500 end
local checksum = 0
for round = 1, ROUNDS do
  local t = {}
  for i = 1, N do table.insert(t, i) end
  local u = {}
  for i = 1, N do u[#u + 1] = i * 2 end
  local front = {}
  for i = 1, F do table.insert(front, 1, i) end
  for _ = 1, F // 2 do table.remove(front, 1) end
  local s = 0
  while #t > N // 2 do s = s + table.remove(t) end
  checksum = (checksum + s + #u + #front + front[1]) % 1000000007
end
print("table_insert", checksum)
