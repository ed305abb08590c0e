-- One operation in a loop: a method call through a metatable's __index (SELF, CALL, RETURN1).
-- ops: 10000000
local N = BENCH_SMALL and 1e5 or 1e7
local C = {}
C.__index = C
function C:get() return self.n end
local o = setmetatable({n = 1}, C)
local s = 0
for _ = 1, N do s = s + o:get() end
print("method_call", s)
