-- OOP: method calls through metatables with inheritance.
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:add(o) return Point.new(self.x + o.x, self.y + o.y) end
function Point:len2() return self.x * self.x + self.y * self.y end
local Point3 = setmetatable({}, {__index = Point})
Point3.__index = Point3
function Point3.new(x, y, z) local p = Point.new(x, y) p.z = z return setmetatable(p, Point3) end
function Point3:len2() return Point.len2(self) + self.z * self.z end
local Counter = {}
Counter.__index = Counter
function Counter.new() return setmetatable({n = 0}, Counter) end
function Counter:inc(by) self.n = self.n + (by or 1) return self end
function Counter:get() return self.n end
local c = Counter.new()
local acc = Point.new(0, 0)
local step = Point.new(1, 2)
local p3 = Point3.new(1, 2, 3)
local total = 0
local N = BENCH_SMALL and 200000 or 2000000
for i = 1, N do
  c:inc()
  if i % 4 == 0 then acc = acc:add(step) end
  total = total + p3:len2()
end
print("method_calls", c:get(), acc.x, acc.y, total)
