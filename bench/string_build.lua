-- String building: repeated concatenation in loops versus table.concat.
local checksum = 0
local ROUNDS = BENCH_SMALL and 5 or 100
for round = 1, ROUNDS do
  local s = ""
  for i = 1, 2000 do s = s .. (i % 10) end
  checksum = checksum + #s
  local parts = {}
  for i = 1, 20000 do parts[#parts + 1] = tostring(i) end
  local joined = table.concat(parts, ",")
  checksum = checksum + #joined
  local buf = {}
  for i = 1, 5000 do buf[i] = "item" .. i .. ";" end
  checksum = checksum + #table.concat(buf)
  local rep = string.rep("ab", 10000, "-")
  checksum = checksum + #rep + round
end
print("string_build", checksum)
