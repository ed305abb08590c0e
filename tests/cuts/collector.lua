-- The collector at work: arrays that grow past its threshold, garbage, finalizers that print,
-- and a weak table. When it collects and which finalizers run is part of the output, so a cut
-- that moved a collection would show.
local weak = setmetatable({}, {__mode = "v"})
local finalized = 0
local meta = {__gc = function(o)
  finalized = finalized + 1
  if o[1] % 50 == 0 then print("finalized", o[1]) end
end}
for round = 1, 3 do
  local a = {}
  for i = 1, 12000 do a[i] = i * round end
  for i = 1, 150 do
    local t = setmetatable({round * 1000 + i}, meta)
    weak[#weak + 1] = t
  end
  local alive = 0
  for _ in pairs(weak) do alive = alive + 1 end
  print(round, #a, a[#a], finalized, alive)
end
collectgarbage()
print("after collect", finalized)
