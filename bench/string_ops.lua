-- String library: gsub, find, match, gmatch, format, sub, byte, upper/lower heavy loop.
local text = {}
for i = 1, 2000 do text[i] = string.format("line %d: key%d=value%d; other=%5.2f", i, i % 17, i * 3, i / 7) end
local doc = table.concat(text, "\n")
local checksum = 0
local ROUNDS = BENCH_SMALL and 10 or 200
for round = 1, ROUNDS do
  local replaced, n = doc:gsub("key(%d+)", "K%1")
  checksum = checksum + n + #replaced
  local count = 0
  for k, v in doc:gmatch("(%w+)=(%w+)") do count = count + #k + #v end
  checksum = checksum + count
  local pos, found = 1, 0
  while true do
    local s, e = doc:find("value", pos, true)
    if not s then break end
    found = found + 1 pos = e + 1
  end
  checksum = checksum + found
  for i = 1, 2000 do
    local line = text[i]
    local num = tonumber(line:match("^line (%d+)"))
    checksum = checksum + num + line:byte(1) + #line:upper() + #line:sub(5, 10)
  end
  checksum = checksum % 1000000007
end
print("string_ops", checksum)
