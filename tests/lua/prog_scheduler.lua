-- Program: a coroutine-based cooperative scheduler with sleeping tasks, messages and joins.
local Scheduler = {time = 0, ready = {}, sleeping = {}, log = {}}
function Scheduler.spawn(name, fn)
  local task = {name = name, co = coroutine.create(fn), wake = 0}
  Scheduler.ready[#Scheduler.ready + 1] = task
  return task
end
function Scheduler.sleep(ticks) coroutine.yield("sleep", ticks) end
function Scheduler.log_line(s) Scheduler.log[#Scheduler.log + 1] = string.format("[t=%d] %s", Scheduler.time, s) end
function Scheduler.run()
  while #Scheduler.ready > 0 or #Scheduler.sleeping > 0 do
    local ready = Scheduler.ready
    Scheduler.ready = {}
    for _, task in ipairs(ready) do
      local ok, what, arg = coroutine.resume(task.co, task)
      if not ok then
        Scheduler.log_line(task.name .. " crashed: " .. what)
      elseif coroutine.status(task.co) == "dead" then
        Scheduler.log_line(task.name .. " finished")
      elseif what == "sleep" then
        task.wake = Scheduler.time + arg
        Scheduler.sleeping[#Scheduler.sleeping + 1] = task
      else
        Scheduler.ready[#Scheduler.ready + 1] = task
      end
    end
    Scheduler.time = Scheduler.time + 1
    local still = {}
    table.sort(Scheduler.sleeping, function(a, b) if a.wake ~= b.wake then return a.wake < b.wake end return a.name < b.name end)
    for _, t in ipairs(Scheduler.sleeping) do
      if t.wake <= Scheduler.time then Scheduler.ready[#Scheduler.ready + 1] = t else still[#still + 1] = t end
    end
    Scheduler.sleeping = still
  end
end
local mailbox = {}
Scheduler.spawn("producer", function()
  for i = 1, 3 do
    mailbox[#mailbox + 1] = "msg" .. i
    Scheduler.log_line("produced msg" .. i)
    Scheduler.sleep(2)
  end
end)
Scheduler.spawn("consumer", function()
  local got = 0
  while got < 3 do
    if #mailbox > 0 then
      Scheduler.log_line("consumed " .. table.remove(mailbox, 1))
      got = got + 1
    else
      coroutine.yield()
    end
  end
end)
Scheduler.spawn("ticker", function() for i = 1, 2 do Scheduler.log_line("tick " .. i) Scheduler.sleep(3) end end)
Scheduler.spawn("crasher", function() Scheduler.sleep(1) error("bad task", 0) end)
Scheduler.run()
print(table.concat(Scheduler.log, "\n"))
print("final time", Scheduler.time)
