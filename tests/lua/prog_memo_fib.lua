-- Program: memoized Fibonacci with a generic memoize, big integer-range values, call counts.
local function memoize(f)
  local cache, hits = {}, 0
  local function m(n)
    local v = cache[n]
    if v ~= nil then hits = hits + 1 return v end
    v = f(m, n)
    cache[n] = v
    return v
  end
  return m, function() return hits end
end
local calls = 0
local fib, hits = memoize(function(self, n)
  calls = calls + 1
  if n < 2 then return n end
  return self(n - 1) + self(n - 2)
end)
print(fib(10), fib(50), fib(90))
print("calls", calls, "hits", hits())
print(fib(92), math.type(fib(92)))
print(fib(93))
local function naive(n) if n < 2 then return n end return naive(n - 1) + naive(n - 2) end
print(naive(20) == fib(20))
local ways = memoize(function(self, n)
  if n < 0 then return 0 end
  if n == 0 then return 1 end
  return self(n - 1) + self(n - 2) + self(n - 3)
end)
print("staircase", ways(10), ways(30))
local binom_cache = {}
local function binom(n, k)
  if k == 0 or k == n then return 1 end
  local key = n * 1000 + k
  local v = binom_cache[key]
  if not v then v = binom(n - 1, k - 1) + binom(n - 1, k) binom_cache[key] = v end
  return v
end
print(binom(10, 5), binom(30, 15), binom(60, 30))
