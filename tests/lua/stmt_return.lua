-- Statements: return forms, multiple results, return in nested blocks and loops.
local function none() return end
local function one() return 1 end
local function many() return 1, 2, 3 end
local function paren() return (many()) end
local function tail() return many() end
local function mixed() return many(), 10 end
print(select("#", none()), select("#", one()), select("#", many()))
print(paren())
print(tail())
print(mixed())
local function early(x)
  if x then return "early" end
  return "late"
end
print(early(true), early(false))
local function inloop()
  for i = 1, 10 do if i == 4 then return i end end
end
print(inloop())
local function nothing() end
print(select("#", nothing()), nothing())
local function withnil() return nil end
print(select("#", withnil()))
local function doblock() do return "from do" end end
print(doblock())
local function ret_table() return {many()} end
print(#ret_table())
local function ret_vararg(...) return ... end
print(ret_vararg(1, nil, 3))
print(select("#", ret_vararg(nil, nil)))
local function semi() return 5; end
print(semi())
local chunk = load("return 1, 2, 3")
print(chunk())
print(load("return")())
print(select("#", load("return")()))
local function cond(a) return a and "yes" or "no" end
print(cond(1), cond(nil))
local function ret_call() return ("%d"):format(42) end
print(ret_call())
print((many()))
print(many(), many())
print(({many(), many()})[4] == nil, #{many(), many()})
