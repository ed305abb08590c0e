-- A native as `__concat`: it gets both operands (the instruction's frame top used to be put
-- back over the native's arguments once the call was started).
local c = setmetatable({}, {__concat = select})
print(pcall(function() return c .. 1 end))
local seen = {}
local function keep(...) seen[#seen + 1] = select('#', ...) return "k" end
c = setmetatable({}, {__concat = keep})
print(c .. "y", "x" .. c, "a" .. c .. "b", 1 .. c .. 2 .. 3)
print(table.concat(seen, " "))
local p = setmetatable({}, {__concat = rawlen})
print(p .. "y", "xyz" .. p, "ab" .. p .. "c")
local w = coroutine.wrap(function(a, b)
  while true do a, b = coroutine.yield(type(a) .. "+" .. type(b)) end
end)
local cw = setmetatable({}, {__concat = w})
print("x" .. cw .. "y", cw .. cw)
