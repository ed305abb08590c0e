-- `load` from a reader function that returns SIZE pieces of 4 bytes.
local n = ...
return function()
  local i = 0
  local _ = assert(load(function()
    i = i + 1
    if i <= n then return "x=1 " end
  end))
end
