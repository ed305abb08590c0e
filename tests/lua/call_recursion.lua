-- Calls: deep non-tail recursion (10000 levels) and 1e6-deep tail calls.
local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
print(depth(10000))
local function sum(n) if n == 0 then return 0 end return n + sum(n - 1) end
print(sum(10000))
local function tail(n, acc) if n == 0 then return acc end return tail(n - 1, acc + 1) end
print(tail(1000000, 0))
local function ping(n) if n == 0 then return "ping done" end return pong(n - 1) end
function pong(n) if n == 0 then return "pong done" end return ping(n - 1) end
print(ping(1000001))
local t = {}
function t.loop(n) if n > 0 then return t.loop(n - 1) end return "table tail" end
print(t.loop(1000000))
local obj = {}
function obj:m(n) if n > 0 then return self:m(n - 1) end return "method tail" end
print(obj:m(1000000))
local function deep_table(n) if n == 0 then return {} end return {deep_table(n - 1)} end
local d = deep_table(5000)
local c = 0
while d[1] do d = d[1] c = c + 1 end
print(c)
local function vtail(n, ...) if n == 0 then return select("#", ...) end return vtail(n - 1, ...) end
print(vtail(100000, 1, 2, 3))
local function deep_pcall(n) if n == 0 then return "bottom" end return select(2, pcall(deep_pcall, n - 1)) end
print(deep_pcall(150))
local ok, err = pcall(function()
  local function inf(n) return 1 + inf(n + 1) end
  return inf(1)
end)
print(ok, type(err))
local function count_down(n) while n > 0 do n = n - 1 end return n end
print(count_down(1000000))
local callable = setmetatable({}, {__call = function(self, n) if n == 0 then return "callable done" end return self(n - 1) end})
print(callable(10000))
