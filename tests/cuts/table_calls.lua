-- Iteration and the table library through metamethods: `__pairs`, `ipairs` over a proxy
-- with `__index`, concat/insert/remove/unpack/move on proxy tables.
local backing = {}
for i = 1, 40 do backing[i] = i * i end
local proxy = setmetatable({}, {
  __index = function(_, k) return backing[k] end,
  __newindex = function(_, k, v) backing[k] = v end,
  __len = function() return #backing end,
  __pairs = function(t)
    local i = 0
    return function()
      i = i + 1
      if backing[i] then return i, backing[i] end
    end, t, nil
  end,
})
local s = 0
for k, v in pairs(proxy) do s = s + k * v end
print("pairs", s)
s = 0
for i, v in ipairs(proxy) do s = s + v - i end
print("ipairs", s)
for i = 1, 6 do table.insert(proxy, 1, -i) end
table.insert(proxy, 99)
print("insert", #backing, backing[1], backing[7], backing[#backing])
for i = 1, 4 do table.remove(proxy, 2) end
print("remove", table.remove(proxy), #backing, backing[2])
print("concat", table.concat(proxy, ",", 1, 6))
print("unpack", select("#", table.unpack(proxy)), table.unpack(proxy, 3, 6))
local dest = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end})
table.move(proxy, 1, 10, 5, dest)
print("move", dest[5], dest[14], rawlen(dest))
print("concat", table.concat(proxy, "-", 36))
