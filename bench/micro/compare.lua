-- One operation in a loop: two comparisons of registers, == and < (EQ, LT).
-- ops: 30000000
local N = BENCH_SMALL and 3e5 or 3e7
local a, b, n = 1, 2, 0
for i = 1, N do
  if a == b then n = n + 1 end
  if i < a then n = n + 1 end
end
print("compare", n)
