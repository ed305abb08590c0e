-- Program: a class system with inheritance via metatables, super calls, tostring and isinstance.
local function class(parent)
  local c = {}
  c.__index = c
  if parent then setmetatable(c, {__index = parent}) end
  c.super = parent
  c.new = function(...)
    local o = setmetatable({}, c)
    if o.init then o:init(...) end
    return o
  end
  return c
end
local function isinstance(o, cls)
  local mt = getmetatable(o)
  while mt do
    if mt == cls then return true end
    mt = mt.super
  end
  return false
end
local Animal = class()
function Animal:init(name) self.name = name end
function Animal:speak() return self.name .. " makes a sound" end
function Animal:describe() return "I am " .. self.name .. ". " .. self:speak() end
Animal.__tostring = function(a) return "Animal(" .. a.name .. ")" end
local Dog = class(Animal)
function Dog:init(name, breed) Animal.init(self, name) self.breed = breed end
function Dog:speak() return self.name .. " barks" end
Dog.__tostring = function(d) return "Dog(" .. d.name .. ", " .. d.breed .. ")" end
local Puppy = class(Dog)
function Puppy:speak() return Dog.speak(self) .. " softly" end
Puppy.__tostring = Dog.__tostring
local a, d, p = Animal.new("Generic"), Dog.new("Rex", "collie"), Puppy.new("Bit", "pug")
for _, x in ipairs({a, d, p}) do print(tostring(x), x:describe()) end
print(isinstance(p, Puppy), isinstance(p, Dog), isinstance(p, Animal), isinstance(d, Puppy), isinstance(a, Dog))
print(Puppy.super == Dog, Dog.super == Animal, Animal.super)
print(rawget(Puppy, "describe"), p.describe == Animal.describe)
local Stack = class()
function Stack:init() self.items = {} end
function Stack:push(v) self.items[#self.items + 1] = v return self end
function Stack:pop() return table.remove(self.items) end
Stack.__len = function(s) return #s.items end
local s = Stack.new():push(1):push(2):push(3)
print(#s, s:pop(), #s)
local Shape = class()
function Shape:area() error("abstract method", 2) end
local Sq = class(Shape)
function Sq:init(n) self.n = n end
function Sq:area() return self.n * self.n end
print(Sq.new(4):area(), pcall(Shape.new().area, Shape.new()))
