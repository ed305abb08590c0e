-- load: chunks share the global environment; loaded functions see later global changes.
shared_counter = 0
local inc = load("shared_counter = shared_counter + 1 return shared_counter")
print(inc(), inc(), shared_counter)
local reader = load("return shared_counter * 10")
shared_counter = 5
print(reader())
shared_counter = nil
local make = load("local n = ... return function() n = n + 1 return n end")
local c1, c2 = make(10), make(100)
print(c1(), c1(), c2())
local env = {}
local f = load("function defined_inside() return 'from env' end", "=def", "t", env)
f()
print(type(env.defined_inside), env.defined_inside(), rawget(_G, "defined_inside"))
local code = {}
for i = 1, 5 do code[#code + 1] = "local v" .. i .. " = " .. i end
code[#code + 1] = "return v1 + v2 + v3 + v4 + v5"
print(load(table.concat(code, "\n"))())
local nested = load("return load('return 1 + 1')()")
print(nested())
local env2 = {load = load}
print(load("return load('return x', '=inner', 't', {x = 'inner env'})()", "=outer", "t", env2)())
local fs = {}
for i = 1, 3 do fs[i] = load("return " .. i .. " * ...") end
print(fs[1](2), fs[2](2), fs[3](2))
print(load("return _ENV")() == _G, load("return _ENV", "=x", "t", env)() == env)
local chunk = load("local a, b = ... return b, a, select('#', ...)")
print(chunk(1, 2, 3))
print(pcall(load("error('from loaded', 1)", "=lvl")))
print(pcall(load("error('from loaded', 2)", "=lvl2")))
local upv = load("x = (x or 0) + 1 return x", "=upv", "t", {})
print(upv(), upv(), upv())
