-- Program: Base64 encoding and decoding with bit operations, round trips on binary data.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local index = {}
for i = 1, #alphabet do index[alphabet:sub(i, i)] = i - 1 end
local function encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    out[#out + 1] = alphabet:sub((n >> 18) + 1, (n >> 18) + 1)
    out[#out + 1] = alphabet:sub(((n >> 12) & 63) + 1, ((n >> 12) & 63) + 1)
    out[#out + 1] = b and alphabet:sub(((n >> 6) & 63) + 1, ((n >> 6) & 63) + 1) or "="
    out[#out + 1] = c and alphabet:sub((n & 63) + 1, (n & 63) + 1) or "="
  end
  return table.concat(out)
end
local function decode(s)
  s = s:gsub("[^%w%+/=]", "")
  local out = {}
  for i = 1, #s, 4 do
    local chunk = s:sub(i, i + 3)
    local n, pad = 0, 0
    for j = 1, 4 do
      local ch = chunk:sub(j, j)
      if ch == "=" then pad = pad + 1 n = n << 6 else n = (n << 6) | index[ch] end
    end
    local bytes = string.char((n >> 16) & 255, (n >> 8) & 255, n & 255)
    out[#out + 1] = bytes:sub(1, 3 - pad)
  end
  return table.concat(out)
end
for _, s in ipairs({"", "f", "fo", "foo", "foob", "fooba", "foobar", "Hello, Tessera!"}) do
  print(string.format("%-16s %s", "[" .. s .. "]", encode(s)), decode(encode(s)) == s)
end
local bin = {}
for i = 0, 255 do bin[#bin + 1] = string.char(i) end
local all = table.concat(bin)
local enc = encode(all)
print(#enc, enc:sub(1, 20), decode(enc) == all)
print(decode("SGVs\nbG8="), decode("dGVzc2VyYQ=="))
