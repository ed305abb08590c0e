-- Program: binary min-heap priority queue, heap sort, and Dijkstra's shortest paths.
local Heap = {}
Heap.__index = Heap
function Heap.new(less) return setmetatable({n = 0, less = less or function(a, b) return a < b end}, Heap) end
function Heap:push(v)
  self.n = self.n + 1
  local i = self.n
  self[i] = v
  while i > 1 do
    local p = i // 2
    if self.less(self[i], self[p]) then self[i], self[p] = self[p], self[i] i = p else break end
  end
end
function Heap:pop()
  if self.n == 0 then return nil end
  local top = self[1]
  self[1] = self[self.n]
  self[self.n] = nil
  self.n = self.n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= self.n and self.less(self[l], self[m]) then m = l end
    if r <= self.n and self.less(self[r], self[m]) then m = r end
    if m == i then break end
    self[i], self[m] = self[m], self[i]
    i = m
  end
  return top
end
local h = Heap.new()
for _, v in ipairs({5, 3, 8, 1, 9, 2, 7}) do h:push(v) end
local out = {}
while h.n > 0 do out[#out + 1] = h:pop() end
print(table.concat(out, " "), h:pop())
local graph = {
  A = {B = 7, C = 9, F = 14}, B = {A = 7, C = 10, D = 15}, C = {A = 9, B = 10, D = 11, F = 2},
  D = {B = 15, C = 11, E = 6}, E = {D = 6, F = 9}, F = {A = 14, C = 2, E = 9},
}
local function dijkstra(src)
  local dist, prev = {[src] = 0}, {}
  local pq = Heap.new(function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
  pq:push({0, src})
  while pq.n > 0 do
    local d, u = table.unpack(pq:pop())
    if d == dist[u] then
      local ns = {}
      for v in pairs(graph[u]) do ns[#ns + 1] = v end
      table.sort(ns)
      for _, v in ipairs(ns) do
        local nd = d + graph[u][v]
        if dist[v] == nil or nd < dist[v] then dist[v], prev[v] = nd, u pq:push({nd, v}) end
      end
    end
  end
  return dist, prev
end
local dist, prev = dijkstra("A")
for _, n in ipairs({"A", "B", "C", "D", "E", "F"}) do
  local path, c = {}, n
  while c do table.insert(path, 1, c) c = prev[c] end
  print(n, dist[n], table.concat(path, ">"))
end
