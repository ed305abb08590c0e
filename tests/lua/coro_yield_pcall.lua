-- Coroutines: yielding across pcall, error after yield inside pcall, xpcall, nested pcall.
local co = coroutine.create(function()
  local ok, v = pcall(function()
    local x = coroutine.yield("yielded in pcall")
    return x * 2
  end)
  coroutine.yield("pcall result", ok, v)
  local ok2, e = pcall(function()
    coroutine.yield("before error")
    error("after yield")
  end)
  return "caught", ok2, e
end)
print(coroutine.resume(co))
print(coroutine.resume(co, 21))
print(coroutine.resume(co))
print(coroutine.resume(co))
print(coroutine.status(co))
local deep = coroutine.wrap(function()
  return pcall(pcall, function()
    coroutine.yield("deep yield")
    return "deep result"
  end)
end)
print(deep())
print(deep())
local x = coroutine.wrap(function()
  return xpcall(function()
    local v = coroutine.yield("xp")
    error("xp error " .. v)
  end, function(m) return "handled " .. m end)
end)
print(x())
print(x("arg"))
local many = coroutine.wrap(function()
  local total = 0
  for i = 1, 5 do
    local ok, v = pcall(coroutine.yield, i)
    total = total + v
  end
  return total
end)
local r = many()
for i = 1, 5 do r = many(r * 10) end
print(r)
local ok, msg = pcall(coroutine.yield, "from main")
print(ok, msg)
local meta = coroutine.wrap(function()
  local ok2, v = pcall(function() return setmetatable({}, {__index = function(t, k) return coroutine.yield(k) end}).key end)
  return ok2, v
end)
print(meta())
print(meta("value for key"))
