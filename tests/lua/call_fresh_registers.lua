-- A call leaves its frame's registers above the parameters as the caller's work left them
-- (as Lua's luaD_precall does): every local declared without a value must still read nil,
-- through the compiler's LOADNIL, after a call that filled the same stack slots.
local function dirty(...) local a,b,c,d,e,f,g,h,i,j = 1,2,3,4,5,6,7,8,9,10 return a end
local function clean() local a, b, c; return a, b, c end
local function clean2(x) local y; local z; return x, y, z end
local function clean3(...) local a; local t = {...}; local b; return a, b, #t end
local function clean4() local a <const> = nil; local b; do local c; b = c end; return a, b end
local function clean5() for i = 1, 2 do local u; if i == 2 then return u end; u = i end end
local function clean6() local t = {}; local k, v; for kk, vv in pairs(t) do k, v = kk, vv end; return k, v end
local function clean7(a, b, c) return a, b, c end
local function clean8() local a, b = (function() end)(); return a, b end
dirty(); print(clean())
dirty(); print(clean2(1))
dirty(1,2,3); print(clean3(1, 2))
dirty(); print(clean4())
dirty(); print(clean5())
dirty(); print(clean6())
dirty(); print(clean7(1))
dirty(); print(clean8())
local co = coroutine.wrap(function() dirty(); local x; coroutine.yield(x); local y; return y end)
print(co()); dirty(); print(co())
print(pcall(function() dirty(); local z; return z end))
