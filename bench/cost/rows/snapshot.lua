-- `p:snapshot()` of a child whose heap holds a table of SIZE strings.
local n = ...
local src = "t = {} for i = 1, " .. n .. " do t[i] = 'x' .. i end"
local p = spawn(src, { fuel = 1e15, memory = "100M" })
p:wait()
return function()
  local _ = p:snapshot()
end
