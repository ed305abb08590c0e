-- To-be-closed variables: closing order, the error argument, scope exits.
local function res(name)
  return setmetatable({name = name}, {__close = function(self, err)
    print("closing", self.name, err)
  end})
end
do
  local a <close> = res("a")
  local b <close> = res("b")
  local c <close> = res("c")
  print("in block")
end
print("after block")
local function f()
  local x <close> = res("x")
  local y <close> = res("y")
  return "result"
end
print(f())
local function g()
  local x <close> = res("g1")
  do
    local y <close> = res("g2")
  end
  print("between")
end
g()
local function multi()
  local x <close> = res("m")
  return 1, 2, 3
end
print(multi())
local function returns_value_read_before_close()
  local v = {n = 1}
  local c <close> = setmetatable({}, {__close = function() v.n = 99 end})
  return v.n
end
print(returns_value_read_before_close())
for i = 1, 2 do
  local r <close> = res("loop" .. i)
  print("iteration", i)
end
local function tail()
  local r <close> = res("tail")
  return tostring(1)
end
print(tail())
local calls = 0
do
  local x <close> = setmetatable({}, {__close = function(o, e, extra)
    calls = calls + 1
    print("args", select("#", o, e, extra), e, extra)
  end})
end
print("calls", calls)
