-- Program: maze shortest path with BFS on a character grid, printing the path.
local maze = {
  "##########",
  "#S.....#.#",
  "#.##.#.#.#",
  "#.#..#...#",
  "#.#.####.#",
  "#...#..#.#",
  "###.#.##.#",
  "#.....#.E#",
  "##########",
}
local grid, sr, sc, er, ec = {}, 0, 0, 0, 0
for r, line in ipairs(maze) do
  grid[r] = {}
  for c = 1, #line do
    local ch = line:sub(c, c)
    grid[r][c] = ch
    if ch == "S" then sr, sc = r, c elseif ch == "E" then er, ec = r, c end
  end
end
local function key(r, c) return r * 100 + c end
local prev, queue, head = {[key(sr, sc)] = false}, {{sr, sc}}, 1
local dirs = {{0, 1}, {1, 0}, {0, -1}, {-1, 0}}
while head <= #queue do
  local r, c = queue[head][1], queue[head][2]
  head = head + 1
  if r == er and c == ec then break end
  for _, d in ipairs(dirs) do
    local nr, nc = r + d[1], c + d[2]
    if grid[nr] and grid[nr][nc] and grid[nr][nc] ~= "#" and prev[key(nr, nc)] == nil then
      prev[key(nr, nc)] = key(r, c)
      queue[#queue + 1] = {nr, nc}
    end
  end
end
local steps, k = 0, prev[key(er, ec)]
while k and k ~= key(sr, sc) do
  grid[k // 100][k % 100] = "*"
  steps = steps + 1
  k = prev[k]
end
print("path length", steps + 1, "explored", #queue)
for r = 1, #grid do print(table.concat(grid[r])) end
