-- Tables: next, rawget, rawset, rawlen and rawequal bypassing metamethods.
local t = {10, 20}
print(next(t))
print(next(t, 1))
print(next(t, 2))
print(next({}))
print(pcall(next, {}, "nokey"))
print(pcall(next))
local h = {a = 1}
local k, v = next(h)
print(k, v, next(h, k))
local proxy = setmetatable({}, {
  __index = function(_, k) return "meta " .. k end,
  __newindex = function(t, k, v) rawset(t, k, v .. "!") end,
  __len = function() return 99 end,
})
print(proxy.x, rawget(proxy, "x"))
proxy.y = "val"
print(rawget(proxy, "y"), proxy.y)
rawset(proxy, "z", "raw")
print(proxy.z)
print(#proxy, rawlen(proxy), rawlen("abcd"))
print(pcall(rawlen, 5))
print(pcall(rawset, {}, nil, 1))
print(pcall(rawget, "str", 1))
print(rawset(t, 3, 30) == t, t[3])
print(rawget(t, 1), rawget(t, 4), rawget(t, 1.0))
local eq = setmetatable({}, {__eq = function() return true end})
local eq2 = setmetatable({}, getmetatable(eq))
print(eq == eq2, rawequal(eq, eq2))
local seq = {1, 2, 3}
local n = 0
local key = nil
repeat
  key = next(seq, key)
  if key then n = n + 1 end
until key == nil
print("next walk", n)
local removing = {a = 1, b = 2, c = 3}
for k in pairs(removing) do removing[k] = nil end
print(next(removing))
print(rawget(setmetatable({}, {__index = {x = 1}}), "x"))
print(rawlen({1, 2, 3}), rawlen(setmetatable({1}, {__len = function() return 5 end})))
print(pcall(rawset, {}, 0/0, 1))
