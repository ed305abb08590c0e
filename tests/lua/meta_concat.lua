-- Metamethods: __concat with the object on either side, numbers, and chains.
local mt = {}
mt.__concat = function(a, b)
  local av = type(a) == "table" and "T(" .. a.v .. ")" or tostring(a)
  local bv = type(b) == "table" and "T(" .. b.v .. ")" or tostring(b)
  return av .. "+" .. bv
end
local x = setmetatable({v = "x"}, mt)
local y = setmetatable({v = "y"}, mt)
print(x .. "s", "s" .. x, x .. y)
print(x .. 1, 1 .. x, x .. 1.5)
print("a" .. "b" .. x)
print(x .. "a" .. "b")
print("a" .. x .. "b")
print(pcall(function() return x .. nil end))
print(pcall(function() return true .. x end))
local other = setmetatable({v = "o"}, {__concat = function() return "other wins" end})
print(x .. other, other .. x)
local counter = 0
local cmt = {__concat = function(a, b) counter = counter + 1 return setmetatable({v = counter}, getmetatable(type(a) == "table" and a or b)) end}
local o = setmetatable({v = 0}, cmt)
local r = o .. "a" .. "b" .. "c"
print(counter, r.v)
local list = setmetatable({1, 2}, {__concat = function(a, b)
  local out = {}
  for _, v in ipairs(a) do out[#out + 1] = v end
  for _, v in ipairs(b) do out[#out + 1] = v end
  return out
end})
local joined = list .. {3, 4}
print(#joined, table.concat(joined, ","))
local n = setmetatable({}, {__concat = function(a, b) return 42 end})
print(n .. "x", math.type(n .. "x"))
print(pcall(function() return {} .. "x" end))
