-- Statements: numeric for with float start/step, accumulation and types.
local acc = {}
for x = 0.0, 1.0, 0.25 do acc[#acc + 1] = x end
print(table.concat(acc, " "))
acc = {}
for x = 1, 2, 0.5 do acc[#acc + 1] = x end
print(table.concat(acc, " "))
for x = 1.0, 3 do print(x, math.type(x)) end
acc = {}
for x = 2.5, 0, -0.5 do acc[#acc + 1] = x end
print(table.concat(acc, " "))
local c = 0
for x = 0.1, 1.0, 0.1 do c = c + 1 end
print("0.1 steps", c)
for i = 1, 3, 1.0 do print(i, math.type(i)) end
c = 0
for x = 1e308, math.huge, 1e308 do c = c + 1 if c > 5 then break end end
print("big float loop", c)
c = 0
for x = -0.0, 0.0 do c = c + 1 print(x) end
print(c)
for x = 0.5, 0.5 do print("one float", x) end
c = 0
for x = 1.0, 0.0 do c = c + 1 end
print("empty float", c)
local sum = 0
for x = 1, 100, 0.5 do sum = sum + x end
print(sum)
