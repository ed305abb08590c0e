-- A full hash part of SIZE keys where each op deletes one key and adds a new one: every
-- insert finds the table full and rehashes it (as in Lua), so each op walks all SIZE keys.
local n = ...
local t = {}
local size = 1
while size * 2 <= n do size = size * 2 end
for i = 1, size do t[-i] = true end
local next_key = size
return function()
  t[-(next_key - size + 1)] = nil
  next_key = next_key + 1
  t[-next_key] = true
end
