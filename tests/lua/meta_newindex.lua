-- Metamethods: __newindex as a function (with rawset) and as a table, existing keys bypass it.
local log = {}
local t = setmetatable({}, {__newindex = function(t, k, v)
  log[#log + 1] = tostring(k) .. "=" .. tostring(v)
  rawset(t, k, v)
end})
t.a = 1
t.b = 2
t.a = 10
print(table.concat(log, " "), t.a, t.b)
local store = {}
local proxy = setmetatable({}, {__newindex = store})
proxy.x = "to store"
print(rawget(proxy, "x"), store.x)
local ro = setmetatable({}, {__newindex = function(_, k) error("read-only: " .. k, 2) end})
print(pcall(function() ro.field = 1 end))
local inner = setmetatable({}, {__newindex = function(_, k, v) print("inner newindex", k, v) end})
local outer = setmetatable({}, {__newindex = inner})
outer.q = 5
print(rawget(outer, "q"), rawget(inner, "q"))
local count = 0
local counted = setmetatable({}, {__newindex = function(t, k, v) count = count + 1 rawset(t, k, v) end})
for i = 1, 5 do counted[i] = i end
for i = 1, 5 do counted[i] = i * 2 end
print(count, counted[5])
local ignoring = setmetatable({}, {__newindex = function() end})
ignoring.x = 1
print(ignoring.x)
local both = setmetatable({}, {
  __index = function(_, k) return "default_" .. k end,
  __newindex = function(t, k, v) rawset(t, k, v .. "_stored") end,
})
print(both.a)
both.a = "val"
print(both.a)
local tracked = {}
local watch = setmetatable({}, {__index = tracked, __newindex = function(_, k, v)
  print("change", k, tracked[k], "->", v)
  tracked[k] = v
end})
watch.n = 1
watch.n = 2
print(watch.n, rawget(watch, "n"))
print(pcall(function() local p = setmetatable({}, {__newindex = 42}) p.x = 1 end))
local nilv = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v == nil and "was nil" or v) end})
nilv.k = nil
print(nilv.k)
local arr = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end})
arr[1] = 1 arr[2] = 2
arr[1] = 5
print(arr[1], arr[2], #arr)
