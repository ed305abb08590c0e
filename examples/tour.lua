-- A short tour of what a Tessera process can do: all of Lua 5.4, inside budgets.
-- Run it with:  cargo run --release -- run examples/tour.lua

-- Integers and floats are distinct subtypes, with Lua's exact rules.
print("3 // 2 =", 3 // 2, "3 / 2 =", 3 / 2, "2^53 =", 2^53)
print("wraparound:", math.maxinteger + 1 == math.mininteger, "float floor:", math.floor(3.7))

-- Closures capture a fresh local per loop iteration.
local counters = {}
for i = 1, 3 do counters[i] = function() i = i + 10; return i end end
print("closures:", counters[1](), counters[1](), counters[3]())

-- Metatables: a small vector class.
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
Vec.__add = function(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
Vec.__tostring = function(v) return ("(%g, %g)"):format(v.x, v.y) end
function Vec:length() return math.sqrt(self.x ^ 2 + self.y ^ 2) end
local v = Vec.new(3, 4) + Vec.new(0, 0)
print("vector:", tostring(v), "length", v:length())

-- Coroutines: a generator, yielding across pcall.
local function range(n)
  return coroutine.wrap(function()
    for i = 1, n do
      pcall(coroutine.yield, i)
    end
  end)
end
local sum = 0
for i in range(100) do sum = sum + i end
print("sum of 1..100 via a coroutine:", sum)

-- Errors are values, with positions, caught by pcall.
local ok, err = pcall(function() local t = nil; return t.field end)
print("caught:", ok, err)

-- To-be-closed variables run their __close on every exit.
do
  local resource <close> = setmetatable({}, {__close = function() print("resource closed") end})
  print("using the resource")
end

-- Everything is budgeted: a runaway child is stopped by its memory limit (no pcall inside it
-- could catch that), its parent hears a `memory` fault, and may give it more and resume it.
local greedy = spawn("local t = {} for i = 1, 1e12 do t[i] = i end", {name = "greedy", memory = "2M"})
local ok, fault = pcall(greedy.wait, greedy)
print("runaway child stopped:", ok, fault.kind, greedy:status())
greedy:kill()
print("strings:", ("hello"):upper(), ("%5.2f|%-5s|%x"):format(math.pi, "ab", 255))
