-- A body error and two failing __close handlers: the last close error wins and is caught.
-- Afterwards no stale error may resurface (a __newindex call used to raise "from b" again).
print(pcall(function()
  local a <close> = setmetatable({}, {__close = function() error('from a') end})
  local b <close> = setmetatable({}, {__close = function() error('from b') end})
  error('body')
end))
print(pcall(function()
  local t = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v) end})
  t.x = 1
  return t.x
end))
local t = setmetatable({}, {__newindex = function() end})
t.y = 2
print("after", rawget(t, "y"))
