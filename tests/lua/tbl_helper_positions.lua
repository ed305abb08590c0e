-- The table library's Lua helpers present as the C functions they stand for: an error raised
-- inside a metamethod they call has its position, and theirs is none.
local t = setmetatable({}, {__index = function(_, i) error("boom", 2) end, __len = function() return 2 end})
print(pcall(table.concat, t))
local u = setmetatable({}, {__newindex = function(_, k) error("no " .. k, 2) end, __len = function() return 3 end})
print(pcall(table.insert, u, 1, "x"))
print(pcall(table.remove, u, 1))
print(pcall(table.move, {1, 2, 3}, 1, 3, 1, u))
local w = setmetatable({}, {__index = function(_, i) return i < 3 and {} or nil end, __len = function() return 2 end})
print(pcall(table.concat, w))
