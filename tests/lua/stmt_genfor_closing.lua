-- Statements: the 4th value of a generic for is a to-be-closed value (Lua 5.4).
local function closer(name)
  return setmetatable({}, {__close = function(_, err) print("close", name, err) end})
end
local function iter(n, name)
  local i = 0
  return function() i = i + 1 if i <= n then return i end end, nil, nil, closer(name)
end
for i in iter(2, "normal") do print("body", i) end
for i in iter(5, "break") do if i == 2 then break end print("body", i) end
local function ret()
  for i in iter(5, "return") do if i == 3 then return "returned " .. i end end
end
print(ret())
print(pcall(function()
  for i in iter(5, "error") do if i == 2 then error("boom") end end
end))
for i in iter(0, "empty") do print("never") end
print(pcall(function()
  for i in function() return nil end, nil, nil, 42 do end
end))
for i in function() return nil end, nil, nil, nil do end
print("nil closing value ok")
for i in function() return nil end, nil, nil, false do end
print("false closing value ok")
local function g()
  for i in iter(3, "goto") do if i == 2 then goto out end end
  ::out::
  print("after goto")
end
g()
for a in iter(1, "outer") do
  for b in iter(1, "inner") do print("nested", a, b) end
end
local co = coroutine.wrap(function()
  for i in iter(3, "coroutine") do coroutine.yield(i) end
  return "done"
end)
print(co(), co(), co(), co())
