local mid = spawn([[
  local leaf = spawn("local s = 0 for i = 1, 600 do s = s + i end print('leaf', s) return s",
    {caps = {console = caps.console}})
  local got = leaf:wait()
  function twice(x)
    local acc = {}
    for i = 1, 60 do acc[#acc + 1] = tostring(x + i) end
    return #table.concat(acc, ",")
  end
  print("mid", got)
]], {caps = {console = caps.console}})
mid:wait()
for i = 1, 3 do print("twice", i, mid:call("twice", i * 1000)) end
local ok, e = pcall(mid.call, mid, "nope")
print("missing function", ok, e.kind)
