-- load with a reader function, and coroutine.close running `__close`.
local parts = {}
for i = 1, 10 do parts[i] = "local v" .. i .. " = " .. i .. " * 2\n" end
parts[#parts + 1] = "return v1 + v10"
for round = 1, 4 do
  local i = 0
  local f, err = load(function()
    i = i + 1
    return parts[i]
  end, "=reader" .. round)
  print("load", round, f and f() or err)
end
for round = 1, 5 do
  local co = coroutine.create(function()
    local guard <close> = setmetatable({}, {__close = function(_, e)
      local s = 0
      for i = 1, 300 do s = s + i % 7 end
      print("closing", round, s, e)
    end})
    coroutine.yield(round)
  end)
  print("resume", coroutine.resume(co))
  print("close", coroutine.close(co))
end
