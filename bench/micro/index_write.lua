-- One operation in a loop: writing an array element with a register key (SETTABLE).
-- ops: 30000000
local N = BENCH_SMALL and 3e3 or 3e5
local t = {}
for i = 1, 100 do t[i] = 0 end
for j = 1, N do for i = 1, 100 do t[i] = j end end
print("index_write", t[1], t[100])
