-- `load` of SIZE bytes of simple statements.
local n = ...
local src = "local x = 0 " .. string.rep("x = x + 1 ", n // 10)
return function()
  local _ = assert(load(src))
end
