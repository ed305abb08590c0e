-- Varargs: large argument lists, unpack of many values, select over long lists.
local function count(...) return select("#", ...) end
local t = {}
for i = 1, 5000 do t[i] = i end
print(count(table.unpack(t)))
print(select(4999, table.unpack(t)))
print(select(-2, table.unpack(t)))
local function sum(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + select(i, ...) end
  return s
end
print(sum(table.unpack(t, 1, 300)))
local packed = table.pack(table.unpack(t, 1, 1000))
print(packed.n, packed[1000])
local function pass(...) return ... end
print(count(pass(pass(pass(table.unpack(t, 1, 250))))))
print(math.max(table.unpack(t, 1, 2000)), math.min(table.unpack(t, 100, 2000)))
local s = string.char(table.unpack({72, 105, 33}))
print(s)
local args = {}
for i = 1, 100 do args[i] = tostring(i) end
print(#table.concat({table.unpack(args)}, ","))
local function last(...) local n = select("#", ...) return (select(n, ...)) end
print(last(table.unpack(t, 1, 4000)))
local function nils(n) local r = {} return table.unpack(r, 1, n) end
print(count(nils(100)))
local co = coroutine.wrap(function(...) return count(...) end)
print(co(table.unpack(t, 1, 500)))
print(pcall(function() return count(table.unpack(t, 1, 1e7)) end))
