local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do
      local ok, v = pcall(function()
        if i % 37 == 0 then error("bad " .. i) end
        return i * i
      end)
      coroutine.yield(ok and v or -1)
    end
  end)
end
local total = 0
do
  local guard <close> = setmetatable({}, {__close = function() print("closed at", total) end})
  for v in gen(200) do
    total = total + v
    if v == -1 then print("error seen, total", total) end
  end
end
