-- Statements: goto and labels, the continue idiom, nested loops, backward jumps.
for i = 1, 5 do
  if i % 2 == 0 then goto continue end
  print("odd", i)
  ::continue::
end
local i = 1
::top::
if i <= 3 then print("loop via goto", i) i = i + 1 goto top end
for a = 1, 3 do
  for b = 1, 3 do
    if a * b == 4 then goto done end
    print(a, b)
  end
end
::done::
print("escaped nested loops")
do
  goto skip
  print("skipped")
  ::skip::
end
local fs = {}
do
  local k = 1
  ::again::
  local v = k
  fs[#fs + 1] = function() return v end
  k = k + 1
  if k <= 3 then goto again end
end
print(fs[1](), fs[2](), fs[3]())
local n = 0
while true do
  n = n + 1
  if n < 3 then goto cont end
  break
  ::cont::
end
print("while continue", n)
repeat
  local x = 5
  goto next
  ::next::
until true
print("repeat label at end")
local function f(x)
  if x then goto yes end
  do return "no" end
  ::yes::
  return "yes"
end
print(f(true), f(false))
do ::l1:: end
do ::l1:: end
print("same label in sibling blocks")
