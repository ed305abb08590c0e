-- Attributes: <const> locals, constant folding contexts, and compile errors on assignment.
local a <const> = 10
local b <const> = a * 2
print(a, b)
local s <const> = "str"
print(s .. "!")
local t <const> = {1, 2}
t[1] = 100
print(t[1])
local function f() return a + b end
print(f())
print(load("local x <const> = 1; x = 2"))
print(load("local x <const> = 1; local function g() x = 2 end"))
print(load("local x <foo> = 1"))
print(load("local x <const> return x")())
print(load("local x <const>, y <const> = 1, 2 return x + y")())
print(load("local x <close>, y <close> = nil, nil"))
local n <const> = nil
print(n)
local fl <const> = 1.5
print(fl * 2)
local big <const> = math.maxinteger
print(big)
do
  local c <const> = "inner"
  print(c)
end
local k <const>, m = 1, 2
m = 3
print(k, m)
local bool <const> = false
print(not bool)
local function uses() local v <const> = 7 return function() return v end end
print(uses()())
print(load("local x <const> = 1; x, y = 2, 3"))
print(load("local x <  const  > = 1 return x")())
