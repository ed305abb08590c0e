-- Varargs: ... in tables, in the middle of lists (truncated), table.pack(...).n, main chunk.
local function f(...) return ... end
local function g(...)
  local a, b = ...
  return a, b
end
print(f(1, 2, 3))
print(g(1, 2, 3), g(1))
print((f(1, 2, 3)))
print(f(1, 2), f(3, 4))
print(({f(1, 2, 3)})[3], ({f(1, 2, 3), 4})[2])
local function pack_n(...) return table.pack(...).n end
print(pack_n(), pack_n(nil), pack_n(1, nil, nil))
local function mid(...) return ..., "end" end
print(mid(1, 2, 3))
local function tbl(...) return {...} end
print(#tbl(1, 2, 3), #tbl())
local function tbl_mid(...) return {..., "x"} end
print(#tbl_mid(1, 2, 3), tbl_mid(1, 2, 3)[2])
local function nested(...)
  local function inner(...) return select("#", ...) end
  return inner(...), inner(..., nil), inner(nil, ...)
end
print(nested(1, 2))
local function forward(...) return select("#", ...), ... end
print(forward(nil, nil))
print(select("#", ...), ...)
local function va_arith(...) local a, b = ... return a + b end
print(va_arith(3, 4, 5))
local function va_in_string(...) return string.format(...) end
print(va_in_string("%d-%s", 1, "x"))
local function ignore(...) return end
print(select("#", ignore(1, 2)))
local function len_of(...) local t = {...} return #t end
print(len_of(table.unpack({1, 2, 3, 4, 5})))
local function mutate(...)
  local a, b = ...
  a = 100
  return a, ...
end
print(mutate(1, 2))
print(load("return ...")(7, 8, 9))
print(load("local a, b = ... return b, a")("x", "y"))
