-- Table insertion: append with table.insert and t[#t+1], insert/remove at the front, pops.
local checksum = 0
for round = 1, 10 do
  local t = {}
  for i = 1, 200000 do table.insert(t, i) end
  local u = {}
  for i = 1, 200000 do u[#u + 1] = i * 2 end
  local front = {}
  for i = 1, 2000 do table.insert(front, 1, i) end
  for _ = 1, 1000 do table.remove(front, 1) end
  local s = 0
  while #t > 100000 do s = s + table.remove(t) end
  checksum = (checksum + s + #u + #front + front[1]) % 1000000007
end
print("table_insert", checksum)
