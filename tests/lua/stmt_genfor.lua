-- Statements: generic for with ipairs, pairs (sorted), stateless and stateful iterators.
local arr = {"a", "b", "c"}
for i, v in ipairs(arr) do print(i, v) end
local h = {x = 1, y = 2, z = 3, [1] = "one"}
local keys = {}
for k in pairs(h) do keys[#keys + 1] = tostring(k) end
table.sort(keys)
print(table.concat(keys, " "))
local function range(n)
  return function(_, i) if i < n then return i + 1 end end, nil, 0
end
for i in range(4) do print("range", i) end
local function chars(s)
  local i = 0
  return function() i = i + 1 if i <= #s then return i, s:sub(i, i) end end
end
for i, c in chars("lua") do print(i, c) end
for k, v in next, {10} do print("next directly", k, v) end
local function iter3() return 1, 2, 3 end
for a, b, c, d in function(s, c) if c == nil then return iter3() end end do print(a, b, c, d) end
local t = {1, 2, 3, 4, 5}
local sum = 0
for _, v in ipairs(t) do if v == 4 then break end sum = sum + v end
print("break in generic for", sum)
local fs = {}
for i, v in ipairs({"p", "q"}) do fs[i] = function() return v end end
print(fs[1](), fs[2]())
for i, v in ipairs({}) do print("never") end
local state = {n = 0}
local function stateful(s, ctl)
  s.n = s.n + 1
  if s.n <= 3 then return s.n * 10 end
end
for v in stateful, state do print("stateful", v) end
for k, v in pairs({}) do print("never") end
local count = 0
for k, v in pairs({1, 2, 3, a = 1}) do count = count + 1 end
print("pairs count", count)
for i, v in ipairs({1, 2, nil, 4}) do print("ipairs stops", i, v) end
local nested = {{1, 2}, {3, 4}}
for _, row in ipairs(nested) do for _, v in ipairs(row) do io_s = (io_s or "") .. v end end
print(io_s) io_s = nil
