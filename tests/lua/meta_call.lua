-- Metamethods: __call with extra arguments, nested callables, callable in various positions.
local c = setmetatable({name = "C"}, {__call = function(self, a, b) return self.name, a, b end})
print(c(1, 2))
print(c())
print(pcall(c, "via pcall"))
local inner = setmetatable({}, {__call = function(_, ...) return "inner", select("#", ...) end})
local outer = setmetatable({}, {__call = inner})
print(outer(1, 2))
local deep = setmetatable({}, {__call = outer})
print(deep("x"))
local adder = setmetatable({total = 0}, {__call = function(self, n) self.total = self.total + n return self end})
adder(1)(2)(3)
print(adder.total)
local t = {f = c}
print(t.f("m"))
print(select(3, t:f("self-call")), type(select(2, t:f("self-call"))))
local results = {}
for _, v in ipairs({1, 2, 3}) do results[#results + 1] = select(2, c(v)) end
print(table.concat(results, ","))
print(pcall(function() local t = setmetatable({}, {}) t() end))
print(pcall(function() local t = setmetatable({}, {__call = 42}) t() end))
local memo = setmetatable({}, {__call = function(self, n)
  if self[n] then return self[n] end
  local v = n < 2 and n or self(n - 1) + self(n - 2)
  self[n] = v
  return v
end})
print(memo(50))
print(pcall(coroutine.wrap, c))
print(coroutine.wrap(function(...) return c(...) end)("in", "coroutine"))
local callable_iter = setmetatable({i = 0}, {__call = function(self)
  self.i = self.i + 1
  if self.i <= 3 then return self.i end
end})
for v in callable_iter do print("iter", v) end
print(select("#", c()))
local s = setmetatable({}, {__call = function(_, ...) return ... end})
print(s(table.unpack({1, 2, 3})))
print(string.rep(setmetatable({}, {__call = function() return "x" end})(), 3))
