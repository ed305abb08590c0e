local function f()
  local t <close> = setmetatable({}, {__close = function() print("closed f") end})
  return 1 + {}
end
local ok, e = pcall(f)
print(ok, e)
local g <close> = setmetatable({}, {__close = function(_, e) print("closed main", e ~= nil) end})
f()
