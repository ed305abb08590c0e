-- Statements: if/elseif/else chains and truthiness of values.
local function classify(n)
  if n < 0 then return "neg"
  elseif n == 0 then return "zero"
  elseif n < 10 then return "small"
  else return "big" end
end
print(classify(-5), classify(0), classify(3), classify(100))
for _, v in ipairs({0, "", false, true, "x", 0.0}) do
  if v then print(tostring(v), "truthy") else print(tostring(v), "falsy") end
end
if nil then print("nil truthy") else print("nil falsy") end
if false then print(1) elseif nil then print(2) else print("else branch") end
if 1 then if 2 then print("nested") end end
local x = 5
if x > 3 then x = x * 2 end
print(x)
if x == 10 then elseif x == 11 then else end
print("empty branches ok")
local r
if x then r = "a" else r = "b" end
print(r)
local function sign(n) if n > 0 then return 1 elseif n < 0 then return -1 end return 0 end
print(sign(3), sign(-3), sign(0))
local t = {}
if t then print("empty table truthy") end
if not not t then print("double not") end
local a, b = 1, nil
if a and not b then print("a and not b") end
if a or b then print("a or b") end
if (a == 1) == true then print("comparison is boolean") end
