-- Program: string utilities: split, join, trim, title case, palindromes, run-length and caesar.
local function split(s, sep)
  local out, start = {}, 1
  while true do
    local i, j = s:find(sep, start, true)
    if not i then out[#out + 1] = s:sub(start) return out end
    out[#out + 1] = s:sub(start, i - 1)
    start = j + 1
  end
end
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
local function title(s) return (s:gsub("(%a)([%w]*)", function(a, b) return a:upper() .. b:lower() end)) end
local function is_pal(s) s = s:lower():gsub("[^%a]", "") return s == s:reverse() end
local function rle(s) return (s:gsub("(.)%1*", function(c) return c end)) end
local function rle_encode(s)
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    local j = i
    while s:sub(j + 1, j + 1) == c do j = j + 1 end
    out[#out + 1] = (j - i + 1) .. c
    i = j + 1
  end
  return table.concat(out)
end
local function rle_decode(s) return (s:gsub("(%d+)(%D)", function(n, c) return c:rep(tonumber(n)) end)) end
local function caesar(s, k)
  return (s:gsub("%a", function(c)
    local base = c:match("%l") and 97 or 65
    return string.char((c:byte() - base + k) % 26 + base)
  end))
end
local parts = split("a,b,,c,", ",")
print(#parts, table.concat(parts, "|"))
print(#split("no separator", ";"), table.concat(split("x::y::z", "::"), " "))
print("[" .. trim("  \t padded \n ") .. "]", "[" .. trim("") .. "]")
print(title("hello wORLD from lua"))
print(is_pal("A man, a plan, a canal: Panama"), is_pal("hello"))
print(rle("aaabccdddd"), rle_encode("aaabccdddd"), rle_decode(rle_encode("aaabccdddd")))
print(caesar("Hello, World!", 3), caesar(caesar("Hello, World!", 3), -3), caesar("xyz", 13))
local counts = {}
for _, w in ipairs(split("one two three two one two", " ")) do counts[w] = (counts[w] or 0) + 1 end
print(counts.one, counts.two, counts.three)
