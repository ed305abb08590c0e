-- Indexing a table with a fresh SIZE-byte string key (the key must be hashed).
local n = ...
local s = string.rep("k", n + 1)
local t = {}
local i = 0
return function()
  i = i % n + 1
  local k = s:sub(1, -2)
  t[k] = i
  t[k] = nil
end
