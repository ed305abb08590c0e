-- Numbers: float keys normalized to integers, int vs float keys, 2^53 keys.
local t = {}
t[1] = "int"
print(t[1.0], t[1])
t[2.0] = "float two"
print(t[2], math.type(next({[2.0] = true})))
t[1.5] = "one and half"
print(t[1.5], t[1])
t[2^53] = "big"
print(t[2^53], t[9007199254740992], t[math.tointeger(2^53)])
t[-0.0] = "zero"
print(t[0], t[0.0])
local keys = {}
for k in pairs({[1.0] = 1, [2] = 2, [3.0] = 3}) do keys[#keys + 1] = math.type(k) end
table.sort(keys)
print(table.concat(keys, " "))
local s = {}
s["1"] = "string one"
s[1] = "number one"
print(s["1"], s[1])
print(#{[1.0] = "a", [2.0] = "b"})
local u = {10, 20, 30}
print(u[1.0], u[2.0], u[3.0], u[3.5])
u[4.0] = 40
print(#u, u[4])
print(rawget(u, 1.0), rawlen(u))
local big = {}
big[math.maxinteger] = "max"
big[math.maxinteger + 0.0] = "float max"
print(big[math.maxinteger], big[2^63])
big[math.mininteger] = "min"
print(big[-2^63])
local m = {}
m[1e100] = "huge"
print(m[1e100], m[10^100])
m[math.huge] = "inf"
print(m[1/0])
print(pcall(function() m[nil] = 1 end))
print(m[nil])
local n = {[1] = "a", [1.0] = "b"}
print(n[1])
local cnt = 0
for _ in pairs(n) do cnt = cnt + 1 end
print(cnt)
