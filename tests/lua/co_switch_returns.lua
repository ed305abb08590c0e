-- The values a coroutine switch hands over, whatever called resume, yield or a wrapped
-- function: a Lua call, a native (pcall, select), a metamethod, a concatenation, and a
-- coroutine whose function is the library function itself.
local function show(...) print(select('#', ...), ...) end

-- Plain calls, fixed and open result counts.
local co = coroutine.create(function(a, b)
  local x, y = coroutine.yield(a + b, a - b)
  local r = table.pack(coroutine.yield())
  return x * y, r.n
end)
show(coroutine.resume(co, 5, 3))
local ok, v = coroutine.resume(co, 4, 6)
print(ok, v)
show(coroutine.resume(co, nil, nil, nil))
show(coroutine.resume(co))

-- resume and yield called by natives.
local co2 = coroutine.create(function() show(pcall(coroutine.yield, 1, 2)) return "end" end)
show(pcall(coroutine.resume, co2))
show(select(2, coroutine.resume(co2, "a", "b")))

-- The coroutine's function is the library function.
local y = coroutine.wrap(coroutine.yield)
show(y(1, 2, 3))
show(y("back"))
local r = coroutine.create(coroutine.resume)
local inner = coroutine.create(function(...) show(...) show(coroutine.yield("in")) return "out" end)
show(coroutine.resume(r, inner, "x"))
show(coroutine.resume(inner, "y"))

-- A wrapped function as a metamethod: its results go to a register, a condition, a
-- concatenation.
local idx = coroutine.wrap(function(t, k)
  while true do t, k = coroutine.yield("field " .. k) end
end)
local obj = setmetatable({}, {__index = idx})
print(obj.a, obj.b)
local cat = coroutine.wrap(function(a, b)
  while true do a, b = coroutine.yield(type(a) .. "+" .. type(b)) end
end)
local c = setmetatable({}, {__concat = cat})
print("x" .. c .. "y")
local lt = coroutine.wrap(function(a, b) while true do a, b = coroutine.yield(true) end end)
local m = setmetatable({}, {__lt = lt})
print(m < m, not (m < m))

-- A wrapped generator that fails, and one that yields nothing.
local bad = coroutine.wrap(function() coroutine.yield() error("boom") end)
show(bad())
print(pcall(bad))
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield() end return "done" end)
show(gen()) show(gen()) show(gen()) show(gen())

-- Many values, one switch.
local many = coroutine.wrap(function(...) local t = {...} while true do t = {coroutine.yield(table.unpack(t))} end end)
local t = {}
for i = 1, 200 do t[i] = i end
print(select('#', many(table.unpack(t))), select(200, many(table.unpack(t))))
