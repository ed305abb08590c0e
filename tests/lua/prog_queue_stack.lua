-- Program: a double-ended queue and a stack with bounds, plus breadth-first search using them.
local Deque = {}
Deque.__index = Deque
function Deque.new() return setmetatable({first = 0, last = -1, items = {}}, Deque) end
function Deque:push_back(v) self.last = self.last + 1 self.items[self.last] = v end
function Deque:push_front(v) self.first = self.first - 1 self.items[self.first] = v end
function Deque:pop_front()
  if self.first > self.last then return nil end
  local v = self.items[self.first]
  self.items[self.first] = nil
  self.first = self.first + 1
  return v
end
function Deque:pop_back()
  if self.first > self.last then return nil end
  local v = self.items[self.last]
  self.items[self.last] = nil
  self.last = self.last - 1
  return v
end
function Deque:size() return self.last - self.first + 1 end
local d = Deque.new()
for i = 1, 5 do d:push_back(i) end
d:push_front(0) d:push_front(-1)
print(d:size(), d:pop_front(), d:pop_back(), d:pop_front(), d:size())
while d:size() > 0 do io_q = (io_q or "") .. d:pop_front() end
print(io_q, d:pop_front(), d:pop_back()) io_q = nil
local graph = {a = {"b", "c"}, b = {"d"}, c = {"d", "e"}, d = {"f"}, e = {"f"}, f = {}}
local function bfs(start, goal)
  local q = Deque.new()
  q:push_back({start})
  local seen = {[start] = true}
  while q:size() > 0 do
    local path = q:pop_front()
    local node = path[#path]
    if node == goal then return table.concat(path, "->") end
    for _, nxt in ipairs(graph[node]) do
      if not seen[nxt] then
        seen[nxt] = true
        local np = {table.unpack(path)}
        np[#np + 1] = nxt
        q:push_back(np)
      end
    end
  end
end
print(bfs("a", "f"), bfs("c", "f"), bfs("f", "a"))
local function balanced(s)
  local stack, pairs_ = {}, {[")"] = "(", ["]"] = "[", ["}"] = "{"}
  for c in s:gmatch(".") do
    if c == "(" or c == "[" or c == "{" then stack[#stack + 1] = c
    elseif pairs_[c] then
      if stack[#stack] ~= pairs_[c] then return false end
      stack[#stack] = nil
    end
  end
  return #stack == 0
end
print(balanced("([]{()})"), balanced("([)]"), balanced("(("), balanced(""))
