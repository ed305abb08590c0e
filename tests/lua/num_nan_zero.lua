-- Numbers: NaN comparisons, negative zero printing and equality.
local nan = 0/0
print(nan == nan, nan ~= nan, nan < nan, nan <= nan, nan > 1, nan < 1)
print(0/0, -(0/0))
print(math.huge, -math.huge)
print(-0.0, 0.0, -0.0 == 0.0, 1/-0.0)
print(tostring(-0.0), tostring(0.0))
print(0.0 * -1, -0.0 + 0.0, -0.0 - 0.0, -0.0 * -1)
local t = {}
t[0.0] = "zero"
print(t[-0.0], t[0])
print(pcall(function() t[nan] = 1 end))
print(t[nan])
print(rawget(t, nan))
print(math.max(nan, 1) ~= math.max(nan, 1) or "max not nan")
print(math.min(1, 2), math.max(-0.0, 0.0))
print(math.type(nan), math.type(-0.0))
print(string.format("%.1f %.1f", -0.0, 0.0))
print(math.tointeger(-0.0))
print(-0.0 // 1, 0 * -1)
print(nan ~= nan and "nan differs")
print(-(-0.0))
local z = 0
print(-z, -0)
print(math.abs(-0.0))
print(math.floor(-0.0), math.ceil(-0.5))
print(3 * -0.0)
