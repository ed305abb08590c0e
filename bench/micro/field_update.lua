-- One operation in a loop: t.x = t.x + t.y (GETFIELD twice, SETFIELD).
-- ops: 20000000
local N = BENCH_SMALL and 2e5 or 2e7
local t = {x = 0, y = 1}
for _ = 1, N do t.x = t.x + t.y end
print("field_update", t.x)
