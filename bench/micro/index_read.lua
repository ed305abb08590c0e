-- One operation in a loop: reading an array element with a register key (GETTABLE).
-- ops: 30000000
local N = BENCH_SMALL and 3e3 or 3e5
local t = {}
for i = 1, 100 do t[i] = i end
local s = 0
for _ = 1, N do for i = 1, 100 do s = s + t[i] end end
print("index_read", s)
