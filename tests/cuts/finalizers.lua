-- Finalizers that run at the boundary before a built-in (about to run, or about to take the
-- results of the Lua it called) and do work of their own, so cuts land inside them.
local finalized, sum = 0, 0
local meta = {__gc = function(o)
  local s = 0
  for i = 1, 40 do s = s + i * o[1] % 7 end
  finalized = finalized + 1
  sum = sum + s
end}
local parts = {}
for i = 1, 800 do
  setmetatable({i}, meta)
  parts[#parts + 1] = string.rep("x", 400) .. i
  if #parts > 40 then
    table.sort(parts, function(a, b) return #a > #b end)
    parts = {}
  end
end
collectgarbage()
print("finalized", finalized, sum)
