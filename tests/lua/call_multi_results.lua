-- Calls: adjustment of multiple results in expressions, arguments, constructors, returns.
local function mr() return 1, 2, 3 end
local function none() end
print(mr())
print((mr()))
print(mr(), 10)
print(10, mr())
print(({mr()})[1], #{mr()})
print(#{mr(), nil}, #{mr(), mr()}, #{(mr())})
local a, b, c, d = mr()
print(a, b, c, d)
local x, y = mr(), 20
print(x, y)
print(select("#", none()), select("#", (none())))
print(none())
print((none()))
local t = {none(), none()}
print(#t)
local s = mr() + mr()
print(s)
print(mr() .. "")
print(math.max(mr()), math.max(mr(), 0))
print(string.format("%d %d %d", mr()))
local function wrap() return mr() end
local function wrap_paren() return (mr()) end
print(wrap())
print(wrap_paren())
local tt = {}
tt[mr()] = "key is first"
print(tt[1])
local function args(...) return select("#", ...) end
print(args(mr()), args(mr(), mr()), args((mr())), args(none()), args(none(), none()))
print(args(nil, none()), args(none(), nil))
if mr() == 1 then print("condition uses first value") end
local str = "x" .. (mr())
print(str)
local n = -mr()
print(n)
print(#{[mr()] = "a"})
local u = {mr(), mr(), k = mr()}
print(#u, u.k)
