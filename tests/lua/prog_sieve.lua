-- Program: sieve of Eratosthenes, prime counting, twin primes and factorization.
local function sieve(n)
  local is = {}
  for i = 2, n do is[i] = true end
  for i = 2, math.floor(math.sqrt(n)) do
    if is[i] then for j = i * i, n, i do is[j] = false end end
  end
  local primes = {}
  for i = 2, n do if is[i] then primes[#primes + 1] = i end end
  return primes
end
local p = sieve(1000)
print(#p, p[1], p[10], p[#p])
print(table.concat(sieve(50), " "))
local twins = 0
for i = 2, #p do if p[i] - p[i - 1] == 2 then twins = twins + 1 end end
print("twin pairs below 1000", twins)
local function factor(n)
  local out = {}
  local d = 2
  while d * d <= n do
    while n % d == 0 do out[#out + 1] = d n = n // d end
    d = d + 1
  end
  if n > 1 then out[#out + 1] = n end
  return table.concat(out, "*")
end
for _, n in ipairs({2, 12, 97, 360, 1001, 65536, 999999, 2147483647}) do print(n, factor(n)) end
local counts = {}
for _, n in ipairs({10, 100, 1000, 10000}) do counts[#counts + 1] = #sieve(n) end
print(table.concat(counts, ","))
local sum = 0
for _, v in ipairs(sieve(2000)) do sum = sum + v end
print("sum", sum)
