-- string natives calling Lua: gsub with a function, a table and an `__index` function,
-- format's `%s` through `__tostring`, string arithmetic reaching the other operand's
-- metamethod.
local text = ("alpha beta gamma delta "):rep(40)
local n = 0
local up = text:gsub("%a+", function(w) n = n + 1 return n % 3 == 0 and w:upper() or nil end)
print(up:sub(1, 60), n)
local words = setmetatable({beta = "B"}, {__index = function(_, k) return #k > 4 and k:sub(1, 2) or nil end})
local short = text:sub(1, 120)
for i = 1, 4 do print((short:gsub("%a+", words)):sub(i, 60)) end
print((short:gsub("(%a)(%a*)", {a = "A", g = false})):sub(1, 40))

local point = setmetatable({x = 3, y = 4}, {__tostring = function(p) return "(" .. p.x .. "," .. p.y .. ")" end})
for i = 1, 15 do
  point.x = point.x + i
  print(string.format("%d %s %s %5.1f", i, point, "plain", i / 4))
end

local num = setmetatable({}, {
  __add = function(a, b) return "add" end,
  __mul = function(a, b) return (type(a) == "string" and a or "") .. "*" end,
  __unm = function() return "neg" end,
})
local acc = {}
for i = 1, 10 do acc[#acc + 1] = ("1" + num) .. ("2" * num) .. tostring(i .. "0" + 1) end
print(table.concat(acc, " "))
