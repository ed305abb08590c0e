-- `pcall` of `error(s)` with a SIZE-byte message (the position is prepended).
local n = ...
local s = string.rep("e", n)
local function fail() error(s) end
return function()
  local _ = pcall(fail)
end
