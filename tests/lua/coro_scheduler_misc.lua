-- Coroutines: many coroutines interleaved round-robin, coroutine identity and table keys.
local tasks = {}
local log = {}
local function spawn(name, steps)
  tasks[#tasks + 1] = {name = name, co = coroutine.create(function()
    for i = 1, steps do log[#log + 1] = name .. i coroutine.yield() end
  end)}
end
spawn("a", 3) spawn("b", 1) spawn("c", 2)
while #tasks > 0 do
  local remaining = {}
  for _, t in ipairs(tasks) do
    coroutine.resume(t.co)
    if coroutine.status(t.co) ~= "dead" then remaining[#remaining + 1] = t end
  end
  tasks = remaining
end
print(table.concat(log, " "))
local set = {}
local c1 = coroutine.create(function() end)
local c2 = coroutine.create(function() end)
set[c1] = "one" set[c2] = "two"
print(set[c1], set[c2], c1 == c2, type(c1))
local many = {}
for i = 1, 100 do many[i] = coroutine.create(function(x) local y = coroutine.yield(x * 2) return x + y end) end
local total = 0
for i = 1, 100 do local _, v = coroutine.resume(many[i], i) total = total + v end
for i = 1, 100 do local _, v = coroutine.resume(many[i], 1) total = total + v end
print(total)
local depth = 0
local function nest(n)
  if n == 0 then return coroutine.yield("bottom") end
  local co = coroutine.wrap(nest)
  depth = depth + 1
  return co(n - 1)
end
local top = coroutine.wrap(nest)
print(top(50), depth)
local ping, pong
local trace = {}
ping = coroutine.wrap(function() for i = 1, 3 do trace[#trace + 1] = "ping" .. i pong() end end)
pong = coroutine.wrap(function() while true do trace[#trace + 1] = "pong" coroutine.yield() end end)
ping()
print(table.concat(trace, " "))
local function state_machine()
  local state = "idle"
  return coroutine.wrap(function(event)
    while true do
      if state == "idle" and event == "start" then state = "running"
      elseif state == "running" and event == "stop" then state = "idle" end
      event = coroutine.yield(state)
    end
  end)
end
local sm = state_machine()
print(sm("start"), sm("noop"), sm("stop"), sm("stop"))
