-- `table.sort` of 64 strings sharing a SIZE-byte prefix (every compare walks it).
local n = ...
local prefix = string.rep("p", n)
local orig, work = {}, {}
local x = 12345
for i = 1, 64 do
  x = (x * 1103515245 + 12345) % 2147483648
  orig[i] = prefix .. string.format("%010d", x)
end
return function()
  table.move(orig, 1, 64, 1, work)
  table.sort(work)
end
