-- Strings: string.gmatch iteration with and without captures, anchors, empty matches.
local words = {}
for w in ("the quick brown fox"):gmatch("%a+") do words[#words + 1] = w end
print(#words, table.concat(words, ","))
for k, v in ("a=1, b=2, c=3"):gmatch("(%w+)=(%w+)") do print(k, v) end
local nums = {}
for n in ("10 20 -5 3.5"):gmatch("-?%d+") do nums[#nums + 1] = n end
print(table.concat(nums, "|"))
local chars = {}
for c in ("abc"):gmatch(".") do chars[#chars + 1] = c end
print(table.concat(chars, " "))
local empties = 0
for e in ("abc"):gmatch("") do empties = empties + 1 end
print("empty matches", empties)
for pos in ("hello"):gmatch("()l") do print("l at", pos) end
local it = ("x y z"):gmatch("%a")
print(it(), it(), it(), it())
local csv = {}
for field in ("a,,b,c"):gmatch("([^,]*)") do csv[#csv + 1] = "[" .. field .. "]" end
print(table.concat(csv))
for a, b in ("k1:v1;k2:v2"):gmatch("(%w+):(%w+)") do print(a .. "->" .. b) end
local caps = {}
for w in ("one two three"):gmatch("(%a)%a*") do caps[#caps + 1] = w end
print(table.concat(caps))
local lines = {}
for line in ("l1\nl2\n\nl4"):gmatch("[^\n]+") do lines[#lines + 1] = line end
print(#lines, table.concat(lines, "/"))
local count = 0
for _ in ("aaaa"):gmatch("aa") do count = count + 1 end
print("non-overlapping", count)
for d in string.gmatch(2024, "%d") do io_d = (io_d or "") .. d end
print(io_d) io_d = nil
local anchors = 0
for a in ("aaa"):gmatch("^a") do anchors = anchors + 1 end
print("anchor in gmatch", anchors)
local t = {}
for k, v in ("x=1&y=&z=3"):gmatch("(%w+)=(%w*)") do t[#t + 1] = k .. ":" .. v end
print(table.concat(t, " "))
print(pcall(function() for x in ("a"):gmatch("[") do end end))
