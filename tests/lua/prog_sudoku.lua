-- Program: a backtracking Sudoku solver on a classic puzzle.
local puzzle = {
  "53..7....", "6..195...", ".98....6.", "8...6...3", "4..8.3..1",
  "7...2...6", ".6....28.", "...419..5", "....8..79",
}
local g = {}
for r = 1, 9 do g[r] = {} for c = 1, 9 do g[r][c] = tonumber(puzzle[r]:sub(c, c)) or 0 end end
local function ok(r, c, v)
  for i = 1, 9 do if g[r][i] == v or g[i][c] == v then return false end end
  local br, bc = (r - 1) // 3 * 3, (c - 1) // 3 * 3
  for i = 1, 3 do for j = 1, 3 do if g[br + i][bc + j] == v then return false end end end
  return true
end
local tries = 0
local function solve()
  for r = 1, 9 do
    for c = 1, 9 do
      if g[r][c] == 0 then
        for v = 1, 9 do
          if ok(r, c, v) then
            tries = tries + 1
            g[r][c] = v
            if solve() then return true end
            g[r][c] = 0
          end
        end
        return false
      end
    end
  end
  return true
end
print("solved", solve(), "placements tried", tries)
for r = 1, 9 do print(table.concat(g[r], " ")) end
local valid = true
for i = 1, 9 do
  local rs, cs = {}, {}
  for j = 1, 9 do rs[g[i][j]] = true cs[g[j][i]] = true end
  for v = 1, 9 do if not rs[v] or not cs[v] then valid = false end end
end
print("valid", valid)
