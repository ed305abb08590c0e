-- Numbers: float formatting round trips via %.17g and tostring, and accumulated rounding.
local vals = {0.1, 0.2, 0.3, 1/3, 2/3, 1e-10, 123.456, 1e21, 5e-324, 1.7976931348623157e308, -2.5, 2^53 + 0.0}
for _, v in ipairs(vals) do
  local s17 = string.format("%.17g", v)
  print(tostring(v), s17, tonumber(s17) == v, tonumber(tostring(v)) == v)
end
local acc = 0
for _ = 1, 10 do acc = acc + 0.1 end
print(acc, acc == 1.0, string.format("%.17g", acc))
local x = 1.0
for _ = 1, 60 do x = x / 2 end
print(x, x * 2^60)
print(0.1 + 0.7, (0.1 + 0.7) * 10, math.floor((0.1 + 0.7) * 10))
print(1e16 + 1, 1e16 + 2, 2^53 + 1.0 == 2^53)
print(100 * 1.1, 3 * 0.1, 0.3 / 0.1)
print(string.format("%.3f %.3f %.3f", 2.0005, 2.0015, -0.0005))
print(string.format("%5.1f|%-7.2f|%07.3f", 9.96, 1/3, -1.5))
print(string.format("%g %g %g %g", 100000, 1000000, 1e-4, 1e-5))
print(string.format("%.0f %.0f %.0f %.0f", 0.5, 1.5, 2.5, -0.5))
print(7.0 // 0.1, 7.0 % 0.1 < 0.1)
print(math.floor(-0.5), math.ceil(-0.5), math.floor(0.49999999999999994))
print(tostring(1e15 / 3), tostring(1e14 / 3))
print(255 / 256, 1 - 2^-52, 1 + 2^-52 > 1, 1 + 2^-53 == 1)
