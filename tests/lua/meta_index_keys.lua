-- Metamethods: the exact key values passed to __index/__newindex (float keys, strings, booleans).
local seen = {}
local t = setmetatable({}, {
  __index = function(_, k) seen[#seen + 1] = math.type(k) or type(k) return nil end,
  __newindex = function(tt, k, v) seen[#seen + 1] = "set:" .. (math.type(k) or type(k)) rawset(tt, k, v) end,
})
local _ = t[1], t[1.0], t[1.5], t["1"], t[true], t[2^53]
print(table.concat(seen, " "))
seen = {}
t[2.0] = "two"
t[3] = "three"
print(table.concat(seen, " "), rawget(t, 2), math.type(next(t)))
local keys = {}
for k in pairs(t) do keys[#keys + 1] = math.type(k) end
table.sort(keys)
print(table.concat(keys, " "))
local proxy_keys = {}
local p = setmetatable({}, {__index = function(_, k) proxy_keys[#proxy_keys + 1] = tostring(k) return k end})
print(p.name, p[10], p[-0.0], p[1e100])
print(table.concat(proxy_keys, ","))
local arr = setmetatable({10, 20}, {__index = function(_, k) return "missing " .. tostring(k) end})
print(arr[1], arr[2.0], arr[3], arr[0], arr[-1])
local str_t = setmetatable({}, {__index = function(_, k) return type(k) end})
print(str_t[print] , str_t[{}], str_t[coroutine.running()])
