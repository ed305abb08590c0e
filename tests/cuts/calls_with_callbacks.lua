local child = spawn([[
  function work(n, report)
    local s = 0
    for i = 1, n do
      s = s + i % 7
      if i % 500 == 0 then report(i, s) end
    end
    return s
  end
  print("child ready")
]], {caps = {console = caps.console}})
child:wait()
local seen = 0
for round = 1, 3 do
  local got = child:call("work", 1500, function(i, s)
    seen = seen + 1
    print("progress", round, i, s)
    return seen
  end)
  print("round", round, got, seen)
end
