-- One operation in a loop: reading a global (GETTABUP).
-- ops: 30000000
X = 1
local N = BENCH_SMALL and 3e5 or 3e7
local function sum() local s = 0 for _ = 1, N do s = s + X end return s end
print("global_read", sum())
