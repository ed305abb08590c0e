-- Statements: local declarations, shadowing, block scope, local function recursion.
local x = 1
do
  local x = 2
  print("inner", x)
  do
    local x = x + 1
    print("innermost", x)
  end
  print("inner again", x)
end
print("outer", x)
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
print(fact(10))
local g = function(n) return n end
print(g(5))
local y = y
print(y)
z = "global z"
local z = z .. " shadowed"
print(z)
local a, a = 1, 2
print(a)
for i = 1, 2 do local i = i * 10 print(i) end
local f
do local hidden = "captured" f = function() return hidden end end
print(f())
local n = 0
while n < 3 do local n2 = n * 2 n = n + 1 io_ = n2 end
print(n, io_)
io_ = nil
if true then local inside = 1 end
print(inside)
local t = {}
local function t_insert(v) t[#t + 1] = v end
t_insert("a") t_insert("b")
print(#t, t[1], t[2])
local v1 <const> = 10
local v2 <close> = nil
print(v1, v2)
