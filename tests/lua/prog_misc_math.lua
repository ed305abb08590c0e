-- Program: integer algorithms: gcd/lcm, collatz, pascal's triangle, perfect numbers, digit sums, fizzbuzz.
local function gcd(a, b) while b ~= 0 do a, b = b, a % b end return a end
local function lcm(a, b) return a // gcd(a, b) * b end
print(gcd(48, 18), gcd(17, 5), lcm(4, 6), lcm(21, 6))
local l = 1
for i = 1, 20 do l = lcm(l, i) end
print("lcm 1..20", l)
local function collatz(n) local steps = 0 while n ~= 1 do n = n % 2 == 0 and n // 2 or 3 * n + 1 steps = steps + 1 end return steps end
local best, arg = 0, 0
for i = 1, 10000 do local s = collatz(i) if s > best then best, arg = s, i end end
print("longest collatz below 10000", arg, best)
local row = {1}
for n = 1, 10 do
  local nr = {1}
  for k = 2, n do nr[k] = row[k - 1] + row[k] end
  nr[n + 1] = 1
  row = nr
  if n >= 7 then print(table.concat(row, " ")) end
end
local perfect = {}
for n = 2, 10000 do
  local s = 1
  for d = 2, math.floor(math.sqrt(n)) do if n % d == 0 then s = s + d if d ~= n // d then s = s + n // d end end end
  if s == n then perfect[#perfect + 1] = n end
end
print("perfect", table.concat(perfect, " "))
local function digitsum(n) local s = 0 while n > 0 do s = s + n % 10 n = n // 10 end return s end
print(digitsum(12345), digitsum(math.maxinteger), digitsum(0))
local fb = {}
for i = 1, 15 do fb[i] = i % 15 == 0 and "FizzBuzz" or i % 3 == 0 and "Fizz" or i % 5 == 0 and "Buzz" or tostring(i) end
print(table.concat(fb, " "))
local function ipow(b, e) local r = 1 while e > 0 do if e & 1 == 1 then r = r * b end b = b * b e = e >> 1 end return r end
print(ipow(3, 20), ipow(2, 62), ipow(2, 63), ipow(7, 0))
local function isqrt(n) local x = math.floor(math.sqrt(n)) while x * x > n do x = x - 1 end while (x + 1) * (x + 1) <= n do x = x + 1 end return x end
print(isqrt(99), isqrt(100), isqrt(2^52 // 1 + 5))
