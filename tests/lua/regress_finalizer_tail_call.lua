-- A finalizer that ends in a tail call is still the running finalizer: the next one starts
-- only after it (finalizers never nest), so the log pairs each start with its end.
local log = {}
local function work(i) local t = {} for k = 1, 3000 do t[k] = {k} end log[#log + 1] = "end " .. i end
local mt = {__gc = function(o) log[#log + 1] = "start " .. o[1] return work(o[1]) end}
for i = 1, 3 do setmetatable({i}, mt) end
for round = 1, 3 do
  for i = 1, 3 do setmetatable({round * 10 + i}, mt) end
  local junk = {} for k = 1, 20000 do junk[k] = {} end
end
collectgarbage()
print(table.concat(log, ","))
