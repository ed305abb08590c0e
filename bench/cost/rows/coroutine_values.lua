-- resume/yield passing SIZE values in each direction.
local n = ...
local args = {}
for i = 1, n do args[i] = i end
local yield = coroutine.yield
local co = coroutine.wrap(function(...)
  local function loop(...) return loop(yield(...)) end
  return loop(...)
end)
return function()
  co(table.unpack(args))
end
