-- table.insert and table.remove in the middle of lists with holes, and # after each, as
-- lua5.4 answers (its border hint included); a deterministic generator drives both.
local h = 0
local function mix(x) h = (h * 31 + (x or -1)) % 1000000007 end
local seed = 7
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n + 1 end
for round = 1, 300 do
  local t = {}
  local n = rnd(40)
  for i = 1, n do t[i] = i end
  for i = 1, rnd(5) do t[rnd(n + 2)] = nil end
  for step = 1, 30 do
    local op = rnd(5)
    local len = #t
    if op == 1 then table.insert(t, rnd(len + 1), step)
    elseif op == 2 and len > 0 then mix(table.remove(t, rnd(len)))
    elseif op == 3 then table.insert(t, step)
    elseif op == 4 then mix(table.remove(t))
    else t[rnd(n + 4)] = nil end
    mix(#t)
    for i = 1, n + 4 do mix(t[i]) end
  end
end
print(h)
