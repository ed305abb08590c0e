-- Program: a Set type using metatables for union (+), intersection (*), difference (-), <=, <, ==.
local Set = {}
Set.__index = Set
function Set.new(items) local s = setmetatable({}, Set) for _, v in ipairs(items or {}) do s[v] = true end return s end
function Set:list() local l = {} for k in pairs(self) do l[#l + 1] = k end table.sort(l) return l end
Set.__tostring = function(s) return "{" .. table.concat(s:list(), ", ") .. "}" end
Set.__add = function(a, b) local r = Set.new() for k in pairs(a) do r[k] = true end for k in pairs(b) do r[k] = true end return r end
Set.__mul = function(a, b) local r = Set.new() for k in pairs(a) do if b[k] then r[k] = true end end return r end
Set.__sub = function(a, b) local r = Set.new() for k in pairs(a) do if not b[k] then r[k] = true end end return r end
Set.__le = function(a, b) for k in pairs(a) do if not b[k] then return false end end return true end
Set.__lt = function(a, b) return a <= b and not (b <= a) end
Set.__eq = function(a, b) return a <= b and b <= a end
Set.__len = function(s) local n = 0 for _ in pairs(s) do n = n + 1 end return n end
local a = Set.new({1, 2, 3, 4})
local b = Set.new({3, 4, 5})
print(a + b, a * b, a - b, b - a)
print(#(a + b), #(a * b), #Set.new())
print(a * b <= a, a <= b, a * b < a, a < a, a == Set.new({4, 3, 2, 1}), a ~= b)
local words = Set.new({"lua", "rust", "c"})
local langs = Set.new({"c", "lua", "go"})
print(words * langs, words + langs)
local empty = Set.new()
print(empty <= a, empty < a, empty == Set.new(), tostring(empty))
local evens, odds = Set.new(), Set.new()
for i = 1, 10 do if i % 2 == 0 then evens[i] = true else odds[i] = true end end
print(evens, odds, #(evens * odds), evens + odds == Set.new({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}))
