-- `spawn(src):wait()` where src is SIZE bytes (mostly a long comment).
local n = ...
local src = "--[[" .. string.rep("c", n) .. "]] return 1"
return function()
  spawn(src, { fuel = 1000000, memory = "4M" }):wait()
end
