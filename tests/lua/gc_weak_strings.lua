-- Strings in weak tables are values, never cleared (lua5.4's `iscleared`), but an all-weak
-- table's entry cleared for its dead value frees its string key in the same cycle (upstream
-- gc.lua); an ephemeron's string value goes with its dead key.
collectgarbage(); collectgarbage()
local KB = 64
local m = collectgarbage("count")
local a = setmetatable({}, {__mode = "kv"})
local b = {}
a[string.rep("a", KB * 1024)] = 25   -- a string key and a number: stays
a[string.rep("b", KB * 1024)] = b    -- a value that dies below: cleared, and its key freed then
a[{}] = 14                           -- a dead key: cleared
-- (An emergency collection, under a tight memory budget, may come at any allocation above:
-- the value that dies is kept alive until the count is taken.)
assert(collectgarbage("count") > m + 2 * KB)
b = nil
collectgarbage()
local n = 0
for k, v in pairs(a) do n = n + 1; print(#k, v) end
print(n, collectgarbage("count") >= m + KB and collectgarbage("count") < m + 2 * KB)

local e = setmetatable({}, {__mode = "k"})
local key = {}
e[key] = string.rep("c", KB * 1024)  -- a key that dies below: its string value goes too
local s = string.rep("d", 10)
e[s] = {}                            -- a string key is alive, so its value is kept
local m2 = collectgarbage("count")
key = nil
collectgarbage()
print(collectgarbage("count") < m2 - KB / 2, type(e[s]))

local v = setmetatable({}, {__mode = "v"})
v[1] = string.rep("e", 10); v[2] = {}; v.x = "y"
collectgarbage()
print(v[1], v[2], v.x)
