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
-- Which finalizers share a collection depends on when collections come (an emergency one,
-- under a tight memory budget, may come at any allocation), so the log is checked for
-- pairs, not printed in order.
local paired = true
for i = 1, #log, 2 do
  local s, e = log[i]:match("^start (%d+)$"), (log[i + 1] or ""):match("^end (%d+)$")
  paired = paired and s ~= nil and s == e
end
print(#log, paired)
