-- Tables: references and aliasing, nested structures, shallow vs deep copies, equality by identity.
local a = {1, 2, {3, 4}}
local b = a
b[1] = 100
print(a[1], a == b)
local shallow = {}
for k, v in pairs(a) do shallow[k] = v end
shallow[3][1] = "shared"
shallow[2] = "own"
print(a[2], a[3][1], shallow[3] == a[3])
local function deepcopy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[deepcopy(k, seen)] = deepcopy(x, seen) end
  return setmetatable(c, getmetatable(v))
end
local cyclic = {name = "root", child = {}}
cyclic.child.parent = cyclic
cyclic.self = cyclic
local d = deepcopy(cyclic)
print(d ~= cyclic, d.self == d, d.child.parent == d, d.name)
local function deepeq(x, y)
  if type(x) ~= "table" or type(y) ~= "table" then return x == y end
  for k, v in pairs(x) do if not deepeq(v, y[k]) then return false end end
  for k in pairs(y) do if x[k] == nil then return false end end
  return true
end
print(deepeq({1, {2, {3}}}, {1, {2, {3}}}), deepeq({1, 2}, {1, 2, 3}), deepeq({a = {}}, {a = {}}))
local grid = {}
for i = 1, 3 do grid[i] = {} for j = 1, 3 do grid[i][j] = i * j end end
print(grid[2][3], grid[3][3], #grid, #grid[1])
local row = {0, 0}
local bad = {row, row}
bad[1][1] = 9
print(bad[2][1])
local function modify(t) t.x = "modified" t = {x = "new"} return t end
local orig = {x = "orig"}
local ret = modify(orig)
print(orig.x, ret.x)
local list = {}
for i = 1, 3 do list[i] = {id = i} end
local byid = {}
for _, item in ipairs(list) do byid[item.id] = item end
byid[2].tag = "tagged"
print(list[2].tag)
