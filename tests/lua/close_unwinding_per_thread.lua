-- An error unwinding through a `__close` that closes a coroutine whose own pending closes
-- raise: each thread keeps its own error in flight (a shared one was lost, and pcall
-- returned true with stack garbage).
local function it2(s, c) if c < s then return c + 1 end end
local co = coroutine.create(function()
  local c1 <close> = setmetatable({}, {__close = function() error("from c1", 0) end})
  local m2 = {__close = function() end}
  local c2 <close> = setmetatable({}, m2)
  m2.__close = nil
  return "done"
end)
print(coroutine.resume(co))
print(pcall(function()
  for _ in it2, 1, 0, setmetatable({}, {__close = function() print("fc", coroutine.close(co)) end}) do
    error("loop", 0)
  end
end))
local co2 = coroutine.create(function()
  local a <close> = setmetatable({}, {__close = function(_, e) print("a sees", e) error("a failed", 0) end})
  error("inner", 0)
end)
print(coroutine.resume(co2))
print(pcall(function()
  local x <close> = setmetatable({}, {__close = function(_, e)
    print("x sees", e, coroutine.close(co2))
  end})
  error("outer", 0)
end))
