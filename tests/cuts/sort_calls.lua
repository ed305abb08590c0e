-- table.sort calling Lua: a comparator, `__lt` objects, a proxy table (its elements read and
-- written through metamethods), and long strings compared by chunks.
local x = 12345
local function rand()
  x = (x * 1103515245 + 12345) % 2147483648
  return x
end
local nums = {}
for i = 1, 120 do nums[i] = rand() % 1000 end
table.sort(nums, function(a, b) return a > b end)
print("desc", nums[1], nums[60], nums[120])

local mt = {__lt = function(a, b) return a.v < b.v end}
local objs = {}
for i = 1, 80 do objs[i] = setmetatable({v = rand() % 500}, mt) end
table.sort(objs)
print("lt", objs[1].v, objs[40].v, objs[80].v)

local store = {}
for i = 1, 60 do store[i] = rand() % 100 end
local proxy = setmetatable({}, {
  __index = function(_, k) return store[k] end,
  __newindex = function(_, k, v) store[k] = v end,
  __len = function() return #store end,
})
table.sort(proxy, function(a, b) return a < b end)
print("proxy", store[1], store[30], store[60])

local long = {}
local prefix = ("p"):rep(5000)
for i = 1, 12 do long[i] = prefix .. (rand() % 1000) end
table.sort(long)
print("long", long[1]:sub(-3), long[12]:sub(-3))
