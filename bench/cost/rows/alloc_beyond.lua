-- `string.rep` far beyond the memory budget: refused before the host allocates.
return function()
  local _ = string.rep("x", 1 << 30)
end
