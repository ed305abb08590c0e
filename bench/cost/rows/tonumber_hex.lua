-- `tonumber("0x" .. SIZE hex digits)`.
local n = ...
local s = "0x" .. string.rep("f", n)
return function()
  local _ = tonumber(s)
end
