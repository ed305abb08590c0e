-- `wait()` on a child that returns a SIZE-entry table (copied into the parent).
local n = ...
local src = "local t = {} for i = 1, " .. n .. " do t[i] = i end return t"
return function()
  spawn(src, { fuel = 100 * n + 100000, memory = "32M" }):wait()
end
