-- Statements: while and repeat loops, repeat-until seeing body locals, break.
local i = 0
while i < 5 do i = i + 1 end
print(i)
local s = 0
while true do s = s + 1 if s >= 10 then break end end
print(s)
local n = 0
repeat n = n + 1 until n == 3
print(n)
local k = 0
repeat
  local done = k >= 4
  k = k + 1
until done
print("repeat with body local", k)
local out = {}
repeat local x = #out + 1 out[x] = x * x until x >= 5
print(table.concat(out, " "))
local count = 0
while false do count = count + 1 end
print(count)
repeat count = count + 1 until true
print(count)
local fs = {}
local j = 0
repeat
  j = j + 1
  local jj = j
  fs[j] = function() return jj end
until jj == 3
print(fs[1](), fs[2](), fs[3]())
local a = 10
while a > 0 do
  a = a - 3
  if a % 2 == 0 then goto cont end
  print("odd", a)
  ::cont::
end
local m = 0
repeat
  m = m + 1
  if m == 2 then break end
until false
print("broke at", m)
local outer = 0
while outer < 3 do
  outer = outer + 1
  local inner = 0
  while true do inner = inner + 1 if inner == outer then break end end
  print(outer, inner)
end
