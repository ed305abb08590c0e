-- `load` of `return x and x and ... x` with SIZE operands (jump lists grow with it).
local n = ...
local src = "local x return " .. string.rep("x and ", n - 1) .. "x"
return function()
  local _ = load(src)
end
