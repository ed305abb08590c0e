-- To-be-closed variables: nil and false are allowed, other values error.
do local a <close> = nil print("nil ok") end
do local a <close> = false print("false ok") end
print(pcall(function() local a <close> = 1 end))
print(pcall(function() local a <close> = "s" end))
print(pcall(function() local a <close> = {} end))
print(pcall(function() local a <close> = true end))
print(pcall(function() local myvar <close> = setmetatable({}, {}) end))
print(pcall(function() local a <close> = print end))
local mt = {__close = function() print("closed via shared metatable") end}
do local x <close> = setmetatable({}, mt) end
print(pcall(function()
  local first <close> = setmetatable({}, mt)
  local second <close> = 42
  print("not reached")
end))
local t = setmetatable({}, {__close = "not a function"})
print(pcall(function() local c <close> = t end))
local later = setmetatable({}, {})
print(pcall(function()
  local c <close> = later
end))
local mt2 = {}
local obj = setmetatable({}, mt2)
mt2.__close = function() print("metamethod added before declaration") end
do local c <close> = obj end
local mt3 = {__close = function() print("original") end}
local obj3 = setmetatable({}, mt3)
do
  local c <close> = obj3
  mt3.__close = function() print("replaced before closing") end
end
print(pcall(function() local c <close> = setmetatable({}, {__close = 1}) end))
