-- Closures: fresh local per iteration in numeric, generic, while and repeat loops.
local fs = {}
for i = 1, 3 do fs[i] = function() return i end end
print(fs[1](), fs[2](), fs[3]())
local gs = {}
for k, v in ipairs({"a", "b", "c"}) do gs[k] = function() return k .. v end end
print(gs[1](), gs[2](), gs[3]())
local hs = {}
local j = 1
while j <= 3 do local jj = j hs[j] = function() return jj end j = j + 1 end
print(hs[1](), hs[2](), hs[3]())
local shared = {}
local s = 0
while s < 3 do s = s + 1 shared[s] = function() return s end end
print(shared[1](), shared[2](), shared[3]())
local ms = {}
for i = 1, 3 do
  local count = 0
  ms[i] = function() count = count + i return count end
end
print(ms[1](), ms[1](), ms[2](), ms[3](), ms[3]())
local ns = {}
for i = 1, 2 do
  for j2 = 1, 2 do ns[#ns + 1] = function() return i * 10 + j2 end end
end
local out = {}
for _, f in ipairs(ns) do out[#out + 1] = f() end
print(table.concat(out, " "))
local mod = {}
for i = 1, 3 do
  mod[i] = {get = function() return i end, set = function(v) i = v end}
end
mod[2].set(20)
print(mod[1].get(), mod[2].get(), mod[3].get())
local rs = {}
local r = 0
repeat
  r = r + 1
  local rr = r * 100
  rs[r] = function() return rr end
until r == 3
print(rs[1](), rs[2](), rs[3]())
local fl = {}
for x = 0.5, 1.5, 0.5 do fl[#fl + 1] = function() return x end end
print(fl[1](), fl[2](), fl[3]())
local pf = {}
for k in pairs({a = 1, b = 2}) do pf[#pf + 1] = function() return k end end
local names = {pf[1](), pf[2]()}
table.sort(names)
print(names[1], names[2])
