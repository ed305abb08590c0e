-- Calls: method definitions and calls with ':' and '.', self, function-call sugar.
local obj = {name = "obj", count = 0}
function obj:hello(greet) return (greet or "hi") .. " " .. self.name end
function obj.static(x) return "static " .. tostring(x) end
function obj:inc() self.count = self.count + 1 return self end
print(obj:hello(), obj:hello("hey"), obj.hello(obj, "yo"))
print(obj.static(5), (obj:static()):sub(1, 13))
obj:inc():inc():inc()
print(obj.count)
local other = {name = "other"}
print(obj.hello(other))
local a = {b = {c = {}}}
function a.b.c.deep(x) return "deep " .. x end
function a.b.c:m() return self == a.b.c end
print(a.b.c.deep("call"), a.b.c:m())
print(type"string", #{"x"})
local function f(t) return t.k end
print(f{k = "table call"}, tostring "str call")
print(("%s!"):format "fmt")
local function chain(s) return function(t) return s .. t.v end end
print(chain "a" {v = "b"})
local o2 = setmetatable({}, {__index = obj})
o2.name = "derived"
print(o2:hello())
print(pcall(function() local n = nil; n:method() end))
print(pcall(function() obj:missing() end))
print(pcall(function() local t = {} t.a.b:c() end))
local calls = {}
local logger = {log = function(self, m) calls[#calls + 1] = m return self end}
logger:log("a"):log("b"):log("c")
print(table.concat(calls, ","))
local str = "abc"
print(str:upper(), ("x"):rep(2))
local mt = {}
mt.__index = mt
function mt.new(v) return setmetatable({v = v}, mt) end
function mt:get() return self.v end
function mt:add(o) return mt.new(self.v + o:get()) end
print(mt.new(3):add(mt.new(4)):get())
local t = {x = 1}
function t:getx() return self.x end
local getx = t.getx
print(getx(t), getx({x = 2}))
print(pcall(getx))
