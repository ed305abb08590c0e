-- One operation in a loop: a call of a local Lua function (CALL, RETURN1).
-- ops: 10000000
local N = BENCH_SMALL and 1e5 or 1e7
local function f(a) return a end
local s = 0
for i = 1, N do s = s + f(i) end
print("call", s)
