-- Program: Conway's Game of Life on a small toroidal grid (glider and blinker).
local W, H = 10, 8
local function empty() local g = {} for y = 1, H do g[y] = {} for x = 1, W do g[y][x] = false end end return g end
local function show(g)
  for y = 1, H do
    local row = {}
    for x = 1, W do row[x] = g[y][x] and "#" or "." end
    print(table.concat(row))
  end
end
local function step(g)
  local n = empty()
  for y = 1, H do
    for x = 1, W do
      local c = 0
      for dy = -1, 1 do
        for dx = -1, 1 do
          if dx ~= 0 or dy ~= 0 then
            local yy, xx = (y + dy - 1) % H + 1, (x + dx - 1) % W + 1
            if g[yy][xx] then c = c + 1 end
          end
        end
      end
      n[y][x] = c == 3 or (c == 2 and g[y][x])
    end
  end
  return n
end
local function population(g) local p = 0 for y = 1, H do for x = 1, W do if g[y][x] then p = p + 1 end end end return p end
local g = empty()
g[1][2], g[2][3], g[3][1], g[3][2], g[3][3] = true, true, true, true, true
g[6][7], g[6][8], g[6][9] = true, true, true
show(g)
for gen = 1, 4 do g = step(g) end
print("after 4 generations, population", population(g))
show(g)
for gen = 1, 36 do g = step(g) end
print("after 40 generations, population", population(g))
show(g)
