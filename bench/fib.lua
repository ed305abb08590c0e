-- Recursive Fibonacci: function calls and integer arithmetic.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local total = 0
for _ = 1, 4 do total = total + fib(32) end
print("fib", fib(32), total)
