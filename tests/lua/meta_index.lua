-- Metamethods: __index as a table and as a function, chains of several levels.
local base = {greet = "hello", shared = "base"}
local mid = setmetatable({shared = "mid"}, {__index = base})
local top = setmetatable({}, {__index = mid})
print(top.greet, top.shared, top.missing)
local calls = 0
local f = setmetatable({}, {__index = function(t, k) calls = calls + 1 return tostring(k) .. "!" end})
print(f.abc, f[1], f[true], calls)
f.abc = "own"
print(f.abc, calls)
local defaults = setmetatable({}, {__index = function() return 0 end})
defaults.x = defaults.x + 5
print(defaults.x, defaults.y)
local chain = {}
local cur = chain
for i = 1, 10 do
  local nxt = {}
  setmetatable(cur, {__index = nxt})
  cur = nxt
end
cur.deep = "found at depth 10"
print(chain.deep)
local proxied = setmetatable({}, {__index = setmetatable({}, {__index = function(_, k) return "fn:" .. k end})})
print(proxied.z)
local arr = setmetatable({1, 2}, {__index = function(t, i) return i * 100 end})
print(arr[1], arr[2], arr[3], #arr)
local s = setmetatable({}, {__index = string})
print(s.upper("x"))
local rawt = setmetatable({}, {__index = {a = 1}})
print(rawget(rawt, "a"), rawt.a)
local mt = {}
mt.__index = mt
mt.kind = "class"
local inst = setmetatable({}, mt)
print(inst.kind, inst.__index == mt)
local counter = setmetatable({}, {__index = function(t, k) local v = #k rawset(t, k, v) return v end})
print(counter.hello, rawget(counter, "hello"), counter.hi)
local nilidx = setmetatable({}, {__index = nil})
print(nilidx.x)
print(pcall(function() local t = setmetatable({}, {__index = 5}) return t.x end))
print(pcall(function() local t = setmetatable({}, {__index = "str"}) return type(t.len), t.len("abc") end))
local swapped = {}
local m1 = {__index = {v = "first"}}
setmetatable(swapped, m1)
print(swapped.v)
m1.__index = {v = "second"}
print(swapped.v)
