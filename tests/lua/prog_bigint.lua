-- Program: arbitrary-precision non-negative integers (add, multiply) computing 2^200 and 50!.
local BASE, WIDTH = 10000000, 7
local function from(n) local r = {} repeat r[#r + 1] = n % BASE n = n // BASE until n == 0 return r end
local function add(a, b)
  local r, carry = {}, 0
  for i = 1, math.max(#a, #b) do
    local s = (a[i] or 0) + (b[i] or 0) + carry
    r[i] = s % BASE carry = s // BASE
  end
  if carry > 0 then r[#r + 1] = carry end
  return r
end
local function mul(a, b)
  local r = {}
  for i = 1, #a + #b do r[i] = 0 end
  for i = 1, #a do
    local carry = 0
    for j = 1, #b do
      local cur = r[i + j - 1] + a[i] * b[j] + carry
      r[i + j - 1] = cur % BASE carry = cur // BASE
    end
    local k = i + #b
    while carry > 0 do local cur = r[k] + carry r[k] = cur % BASE carry = cur // BASE k = k + 1 end
  end
  while #r > 1 and r[#r] == 0 do r[#r] = nil end
  return r
end
local function tostr(a)
  local parts = {tostring(a[#a])}
  for i = #a - 1, 1, -1 do parts[#parts + 1] = string.format("%07d", a[i]) end
  return table.concat(parts)
end
local p = from(1)
for _ = 1, 200 do p = add(p, p) end
print("2^200 =", tostr(p))
local f = from(1)
for i = 2, 50 do f = mul(f, from(i)) end
print("50! =", tostr(f), #tostr(f))
local fa, fb = from(0), from(1)
for _ = 1, 300 do fa, fb = fb, add(fa, fb) end
print("fib(300) =", tostr(fa))
print(tostr(mul(from(math.maxinteger), from(math.maxinteger))))
print(tostr(add(from(9999999), from(1))), tostr(mul(from(0), from(12345))))
