-- One operation in a loop: reading an array element with a constant key (GETI).
-- ops: 30000000
local N = BENCH_SMALL and 3e5 or 3e7
local t = {5, 6, 7}
local s = 0
for _ = 1, N do s = s + t[2] end
print("index_constant", s)
