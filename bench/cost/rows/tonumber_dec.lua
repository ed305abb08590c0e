-- `tonumber` of SIZE decimal digits (and with leading spaces).
local n = ...
local s = string.rep("1", n)
local padded = string.rep(" ", n) .. "1"
return function()
  local _ = tonumber(s), tonumber(padded)
end
