-- `restore(s)` of a snapshot whose heap holds a table of SIZE strings (then dropped).
local n = ...
local src = "t = {} for i = 1, " .. n .. " do t[i] = 'x' .. i end"
local p = spawn(src, { fuel = 1e15, memory = "60M" })
p:wait()
local s = p:snapshot()
p:kill()
p = nil
collectgarbage()
return function()
  local q = restore(s, { fuel = 1000, memory = "60M" })
  q:kill()
end
