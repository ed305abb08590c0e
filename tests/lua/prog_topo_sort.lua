-- Program: topological sort (Kahn's algorithm with sorted tie-breaking) and cycle detection.
local function topo(deps)
  local indeg, users, names = {}, {}, {}
  for n in pairs(deps) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    indeg[n] = indeg[n] or 0
    for _, d in ipairs(deps[n]) do
      if indeg[d] == nil then indeg[d] = 0 end
      indeg[n] = indeg[n] + 1
      users[d] = users[d] or {}
      table.insert(users[d], n)
    end
  end
  local ready = {}
  for n, c in pairs(indeg) do if c == 0 then ready[#ready + 1] = n end end
  local order = {}
  while #ready > 0 do
    table.sort(ready, function(a, b) return a > b end)
    local n = table.remove(ready)
    order[#order + 1] = n
    for _, u in ipairs(users[n] or {}) do
      indeg[u] = indeg[u] - 1
      if indeg[u] == 0 then ready[#ready + 1] = u end
    end
  end
  local count = 0
  for _ in pairs(indeg) do count = count + 1 end
  if #order < count then return nil, "cycle detected" end
  return order
end
local build = {
  app = {"lib", "utils", "config"}, lib = {"utils", "core"}, utils = {"core"}, config = {}, tests = {"app"},
}
print(table.concat(topo(build), " "))
print(topo({a = {"b"}, b = {"c"}, c = {"a"}}))
print(table.concat(topo({x = {}, y = {}, z = {}}), " "))
print(table.concat(topo({shirt = {"undershirt"}, tie = {"shirt"}, jacket = {"tie", "belt"}, belt = {"pants"}, pants = {"undershorts"}, shoes = {"pants", "socks"}}), " "))
