-- To-be-closed variables: closing on break, goto out of a block, and loop iterations.
local function res(name)
  return setmetatable({}, {__close = function() print("close", name) end})
end
for i = 1, 3 do
  local r <close> = res("for" .. i)
  if i == 2 then print("breaking") break end
end
local i = 0
while true do
  i = i + 1
  local r <close> = res("while" .. i)
  if i == 2 then break end
end
repeat
  local r <close> = res("repeat")
until true
do
  local r <close> = res("goto-block")
  goto out
end
::out::
print("after goto")
for j = 1, 3 do
  local r <close> = res("cont" .. j)
  if j < 3 then goto continue end
  print("last")
  ::continue::
end
local n = 0
::again::
do
  local r <close> = res("backjump" .. n)
  n = n + 1
  if n < 2 then goto again end
end
for a = 1, 2 do
  local outer <close> = res("outer" .. a)
  for b = 1, 2 do
    local inner <close> = res("inner" .. a .. b)
    if b == 1 then break end
  end
end
print("end")
