-- Program: LRU cache with a doubly linked list and hash map, with hit/miss statistics.
local LRU = {}
LRU.__index = LRU
function LRU.new(cap)
  local head, tail = {}, {}
  head.next, tail.prev = tail, head
  return setmetatable({cap = cap, map = {}, size = 0, head = head, tail = tail, hits = 0, misses = 0}, LRU)
end
local function unlink(n) n.prev.next, n.next.prev = n.next, n.prev end
function LRU:_front(n) n.next, n.prev = self.head.next, self.head self.head.next.prev = n self.head.next = n end
function LRU:get(k)
  local n = self.map[k]
  if not n then self.misses = self.misses + 1 return nil end
  self.hits = self.hits + 1
  unlink(n) self:_front(n)
  return n.value
end
function LRU:put(k, v)
  local n = self.map[k]
  if n then n.value = v unlink(n) self:_front(n) return end
  if self.size == self.cap then
    local old = self.tail.prev
    unlink(old) self.map[old.key] = nil self.size = self.size - 1
  end
  n = {key = k, value = v}
  self.map[k] = n self:_front(n) self.size = self.size + 1
end
function LRU:keys() local out, n = {}, self.head.next while n ~= self.tail do out[#out + 1] = n.key n = n.next end return table.concat(out, ",") end
local c = LRU.new(3)
c:put("a", 1) c:put("b", 2) c:put("c", 3)
print(c:keys(), c:get("a"), c:keys())
c:put("d", 4)
print(c:keys(), c:get("b"), c:get("c"))
c:put("a", 10)
print(c:keys(), c:get("a"), c.size)
local cache = LRU.new(50)
local function slow_square(n) local v = cache:get(n) if v then return v end v = n * n cache:put(n, v) return v end
local sum = 0
for i = 1, 1000 do sum = sum + slow_square(i % 70) end
print(sum, cache.hits, cache.misses, cache.size)
