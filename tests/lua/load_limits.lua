-- load: compile-time limits (local variables, upvalues) and deeply nested syntax.
local function locals(n)
  local parts = {}
  for i = 1, n do parts[i] = "local v" .. i .. " = " .. i end
  parts[#parts + 1] = "return v" .. n
  return table.concat(parts, "\n")
end
print(load(locals(200))())
print(load(locals(201)))
local many = {}
for i = 1, 100 do many[i] = "local a" .. i .. ", b" .. i .. " = " .. i .. ", " .. i end
print(load(table.concat(many, " "), "=pairs") ~= nil)
local nested = "return " .. string.rep("(", 100) .. "1" .. string.rep(")", 100)
print(load(nested)())
local deep_tables = "return " .. string.rep("{", 100) .. string.rep("}", 100)
print(type(load(deep_tables)()))
local fn_nest = string.rep("return function() ", 50) .. "return 'deep'" .. string.rep(" end", 50)
local f = load(fn_nest)
for _ = 1, 50 do f = f() end
print(f())
local long_concat = "return " .. string.rep("'a' .. ", 100) .. "'a'"
print(#load(long_concat)())
local long_and = "return " .. string.rep("true and ", 100) .. "1"
print(load(long_and)())
local big_table = {}
for i = 1, 1000 do big_table[i] = tostring(i) end
print(#load("return {" .. table.concat(big_table, ",") .. "}")())
local long_if = {}
for i = 1, 200 do long_if[#long_if + 1] = (i == 1 and "if" or "elseif") .. " x == " .. i .. " then return " .. i * 2 end
long_if[#long_if + 1] = "end"
print(load("local x = ... " .. table.concat(long_if, " "))(150))
local args = {}
for i = 1, 100 do args[i] = "a" .. i end
print(load("return function(" .. table.concat(args, ",") .. ") return a100 end")()(table.unpack(big_table)))
print(load(string.rep("do ", 150) .. string.rep("end ", 150)) ~= nil)
