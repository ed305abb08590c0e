-- Tables: keys of every type (booleans, tables, functions, threads, floats, strings) and lookups.
local t = {}
local tk, fk, ck = {}, function() end, coroutine.create(function() end)
t[true] = "true key"
t[false] = "false key"
t[tk] = "table key"
t[fk] = "function key"
t[ck] = "thread key"
t[1.5] = "float key"
t["1"] = "string one"
t[1] = "integer one"
t[-0.0] = "zero"
print(t[true], t[false], t[tk], t[fk], t[ck], t[1.5], t["1"], t[1], t[0])
print(t[{}], t[function() end], t[2 > 1], t[1 > 2])
local n = 0
for _ in pairs(t) do n = n + 1 end
print("entries", n)
t[tk], t[fk], t[ck] = nil, nil, nil
n = 0
for _ in pairs(t) do n = n + 1 end
print("after removal", n)
local s = "key"
local u = {[s] = 1, [s .. ""] = 2}
print(u.key)
local m = {[math.huge] = "inf", [-math.huge] = "-inf", [math.pi] = "pi", [math.mininteger] = "min"}
print(m[1/0], m[-1/0], m[math.pi], m[-2^63])
local byval = {}
byval[string.rep("x", 3)] = "interned"
print(byval.xxx, byval["x" .. "xx"])
local counts = {}
for _, v in ipairs({"a", 1, "a", 1.0, true, "1", true}) do counts[v] = (counts[v] or 0) + 1 end
print(counts.a, counts[1], counts[true], counts["1"])
