-- Program: word frequency count with sorting by count then alphabetically.
local text = [[
It was the best of times, it was the worst of times, it was the age of wisdom,
it was the age of foolishness, it was the epoch of belief, it was the epoch of
incredulity, it was the season of Light, it was the season of Darkness.
]]
local freq, total = {}, 0
for word in text:lower():gmatch("%a+") do
  freq[word] = (freq[word] or 0) + 1
  total = total + 1
end
local words = {}
for w, c in pairs(freq) do words[#words + 1] = {w = w, c = c} end
table.sort(words, function(a, b) if a.c ~= b.c then return a.c > b.c end return a.w < b.w end)
print("total words", total, "distinct", #words)
for i = 1, 8 do print(string.format("%-12s %3d", words[i].w, words[i].c)) end
local lengths = {}
for w in pairs(freq) do local n = #w lengths[n] = (lengths[n] or 0) + 1 end
local ls = {}
for n, c in pairs(lengths) do ls[#ls + 1] = n .. ":" .. c end
table.sort(ls, function(a, b) return tonumber(a:match("^%d+")) < tonumber(b:match("^%d+")) end)
print(table.concat(ls, " "))
local letters = {}
for ch in text:lower():gmatch("%a") do letters[ch] = (letters[ch] or 0) + 1 end
local top = {}
for ch, c in pairs(letters) do top[#top + 1] = {ch, c} end
table.sort(top, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
local show = {}
for i = 1, 5 do show[i] = top[i][1] .. "=" .. top[i][2] end
print(table.concat(show, " "))
