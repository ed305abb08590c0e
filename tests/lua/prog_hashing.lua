-- Program: FNV-1a and djb2 hashes and CRC-32 using 64-bit integer wraparound and bitwise ops.
local function fnv1a64(s)
  local h = -3750763034362895579
  for i = 1, #s do h = h ~ s:byte(i) h = h * 1099511628211 end
  return h
end
local function fnv1a32(s)
  local h = 2166136261
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xFFFFFFFF end
  return h
end
local function djb2(s) local h = 5381 for i = 1, #s do h = (h * 33 + s:byte(i)) & 0xFFFFFFFF end return h end
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end end
  crc_table[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end
for _, s in ipairs({"", "a", "hello", "The quick brown fox jumps over the lazy dog"}) do
  print(string.format("%-12s %d %x %x %x", s:sub(1, 12), fnv1a64(s), fnv1a32(s), djb2(s), crc32(s)))
end
print(string.format("%08x", crc32("123456789")))
local buckets = {}
for i = 1, 1000 do local b = fnv1a32("key" .. i) % 16 buckets[b] = (buckets[b] or 0) + 1 end
local mn, mx = math.huge, 0
for b = 0, 15 do mn = math.min(mn, buckets[b] or 0) mx = math.max(mx, buckets[b] or 0) end
print("bucket spread", mn, mx)
