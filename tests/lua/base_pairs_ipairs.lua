-- Base library: ipairs (stops at nil, respects __index), pairs with __pairs, next order on arrays.
local t = {"a", "b", "c"}
for i, v in ipairs(t) do print(i, v) end
local proxy = setmetatable({}, {__index = function(_, i) if i <= 3 then return i * 10 end end})
for i, v in ipairs(proxy) do print("proxy", i, v) end
local partial = setmetatable({1, 2}, {__index = {[3] = "from index", [4] = "also"}})
for i, v in ipairs(partial) do print("partial", i, v) end
local custom = setmetatable({}, {__pairs = function(t)
  local i = 0
  return function() i = i + 1 if i <= 3 then return i, "custom" .. i end end, t, nil
end})
for k, v in pairs(custom) do print(k, v) end
local pm = setmetatable({real = 1}, {__pairs = function(t) return next, {fake = 2}, nil end})
for k, v in pairs(pm) do print("pairs", k, v) end
local count = 0
for _, v in ipairs({1, 2, nil, 4}) do count = count + 1 end
print("stopped after", count)
local f, s, c = ipairs({})
print(type(f), type(s), c)
local ipf = ipairs({})
print(ipf({10, 20}, 0), ipf({10, 20}, 1), ipf({10, 20}, 2))
local nf, ns, nc = pairs({})
print(nf == next, type(ns), nc)
local h = {x = 1, y = 2, z = 3}
local keys = {}
for k, v in pairs(h) do keys[#keys + 1] = k .. "=" .. v end
table.sort(keys)
print(table.concat(keys, ","))
local arr_order = {}
for k in pairs({10, 20, 30, 40}) do arr_order[#arr_order + 1] = k end
table.sort(arr_order)
print(table.concat(arr_order, ","))
print(pcall(function() for _ in pairs(nil) do end end))
local three = setmetatable({}, {__pairs = function() return function(_, k) if not k then return 1, 2 end end, nil, nil end})
for a, b in pairs(three) do print("three", a, b) end
local modified = {1, 2, 3}
local seen = 0
for k, v in pairs(modified) do modified[k] = v * 2 seen = seen + 1 end
print(seen, modified[1], modified[3])
local str_ipairs = setmetatable({}, {__index = function(_, i) return ("abc"):sub(i, i) ~= "" and ("abc"):sub(i, i) or nil end})
local out = {}
for _, c in ipairs(str_ipairs) do out[#out + 1] = c end
print(table.concat(out))
