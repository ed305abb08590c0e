-- Closures: local function recursion, mutual recursion, recursive anonymous functions.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(20))
local is_even, is_odd
function is_even(n) if n == 0 then return true end return is_odd(n - 1) end
function is_odd(n) if n == 0 then return false end return is_even(n - 1) end
print(is_even(10), is_odd(7), is_even(7))
local fact = function(n) return n end
local fact = function(n) if n <= 1 then return 1 end return n * fact(n - 1) end
print(fact(5))
local function Y(f) return function(...) return f(Y(f), ...) end end
local yfact = Y(function(self, n) if n <= 1 then return 1 end return n * self(n - 1) end)
print(yfact(10))
local t = {}
function t.countdown(n) if n == 0 then return "liftoff" end return t.countdown(n - 1) end
print(t.countdown(100))
local obj = {n = 0}
function obj:inc(times) if times == 0 then return self.n end self.n = self.n + 1 return self:inc(times - 1) end
print(obj:inc(50))
local function ackermann(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ackermann(m - 1, 1) end
  return ackermann(m - 1, ackermann(m, n - 1))
end
print(ackermann(2, 3), ackermann(3, 3))
local function hanoi(n, from, to, via, moves)
  if n == 0 then return moves end
  hanoi(n - 1, from, via, to, moves)
  moves[#moves + 1] = from .. to
  return hanoi(n - 1, via, to, from, moves)
end
local moves = hanoi(4, "A", "C", "B", {})
print(#moves, moves[1], moves[#moves])
local function flatten(x, out)
  out = out or {}
  if type(x) ~= "table" then out[#out + 1] = x return out end
  for _, v in ipairs(x) do flatten(v, out) end
  return out
end
print(table.concat(flatten({1, {2, {3, {4}}, 5}, {{6}}}), ","))
local function power_set(s, i, cur, out)
  if i > #s then out[#out + 1] = "{" .. table.concat(cur, ",") .. "}" return out end
  power_set(s, i + 1, cur, out)
  cur[#cur + 1] = s[i]
  power_set(s, i + 1, cur, out)
  cur[#cur] = nil
  return out
end
print(table.concat(power_set({"a", "b", "c"}, 1, {}, {}), " "))
