-- A child failing with `error(t)`, t of SIZE entries: copied as the fault's value.
local n = ...
local src = "local t = {} for i = 1, " .. n .. " do t[i] = i end error(t)"
return function()
  local p = spawn(src, { fuel = 100 * n + 100000, memory = "32M" })
  local _ = pcall(p.wait, p)
end
