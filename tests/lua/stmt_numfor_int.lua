-- Statements: numeric for with integer bounds and steps, loop variable is a copy.
for i = 1, 3 do io_w = (io_w or "") .. i end
print(io_w) io_w = nil
local acc = {}
for i = 10, 1, -3 do acc[#acc + 1] = i end
print(table.concat(acc, ","))
acc = {}
for i = 1, 10, 4 do acc[#acc + 1] = i end
print(table.concat(acc, ","))
local n = 0
for i = 5, 1 do n = n + 1 end
print("no iterations", n)
for i = 1, 1 do print("single", i) end
for i = -2, 2 do acc[#acc + 1] = math.type(i) end
print(acc[#acc])
for i = 1, 3 do
  local j = i
  i = i * 10
  print(j, i)
end
local limit = 3
for i = 1, limit do limit = 10 end
print("limit evaluated once", limit)
local c = 0
for i = 1, 2.5 do c = c + 1 end
print("float limit with int start", c)
for i = 3, 1.5, -1 do print("down to float limit", i) end
c = 0
for i = 1, 0.5 do c = c + 1 end
print(c)
for i = math.maxinteger - 2, math.maxinteger do print(i) end
for i = math.mininteger + 2, math.mininteger, -1 do print(i) end
c = 0
for i = 1, math.huge do c = c + 1 if c == 5 then break end end
print("huge limit", c)
c = 0
for i = 0, -math.huge, -1 do c = c + 1 if c == 3 then break end end
print("neg huge limit", c)
for i = math.maxinteger, math.maxinteger + 1.0 do print("float limit beyond", i) break end
c = 0
for i = 1, 10, math.maxinteger do c = c + 1 end
print("huge step", c)
c = 0
for i = -1, 1, math.mininteger do c = c + 1 end
print("mininteger step", c)
for i = 1, "3" + 0 do c = c + 1 end
print(c)
