-- Recursive Fibonacci: function calls and integer arithmetic.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local total = 0
local N = BENCH_SMALL and 24 or 32
for _ = 1, 4 do total = total + fib(N) end
print("fib", fib(N), total)
