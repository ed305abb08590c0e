local slow = setmetatable({}, {__tostring = function()
  local s = 0
  for i = 1, 700 do s = s + i % 5 end
  return "slow" .. s
end})
for i = 1, 6 do print(i, slow, tostring(slow), i * 2) end
