-- Expressions: mixed integer/float arithmetic result types for every operator.
local ops = {
  {"+", function(a, b) return a + b end}, {"-", function(a, b) return a - b end},
  {"*", function(a, b) return a * b end}, {"/", function(a, b) return a / b end},
  {"//", function(a, b) return a // b end}, {"%", function(a, b) return a % b end},
  {"^", function(a, b) return a ^ b end},
}
local operands = {{7, 2}, {7.0, 2}, {7, 2.0}, {-7, 2}, {7, -2}, {-7.5, 2}}
for _, op in ipairs(ops) do
  local row = {}
  for _, p in ipairs(operands) do
    local r = op[2](p[1], p[2])
    row[#row + 1] = tostring(r) .. ":" .. math.type(r):sub(1, 1)
  end
  print(op[1], table.concat(row, " "))
end
print(math.type(3 // 1), math.type(3.0 // 1), math.type(-(-3)), math.type(-(3.0)))
print(1 + 1 == 2, 1 + 1.0 == 2, math.type(1 + 1.0))
print(10 // 3 + 10 % 3 * 1.0, (10 // 3) * 3 + 10 % 3)
print(2^2 // 1, math.type(2^2 // 1), 4 // 2^1)
print(-0.0 + 0, 0 + -0.0, 0 - 0.0, -0.0 - 0)
print(math.maxinteger * 1.0 // 1, math.maxinteger // 1.0)
print(5 % -0.0 ~= 5 % -0.0, -5 // -0.0)
