-- Program: N-queens solver counting solutions and printing the first board for n = 6.
local function solve(n, first_only)
  local cols, d1, d2, pos = {}, {}, {}, {}
  local count, first = 0, nil
  local function place(r)
    if r > n then
      count = count + 1
      if not first then first = {table.unpack(pos)} end
      return
    end
    for c = 1, n do
      if not cols[c] and not d1[r + c] and not d2[r - c + n] then
        cols[c], d1[r + c], d2[r - c + n] = true, true, true
        pos[r] = c
        place(r + 1)
        cols[c], d1[r + c], d2[r - c + n] = nil, nil, nil
      end
    end
  end
  place(1)
  return count, first
end
for n = 1, 8 do
  local count = solve(n)
  print(n, count)
end
local _, board = solve(6)
for r = 1, 6 do
  local row = {}
  for c = 1, 6 do row[c] = board[r] == c and "Q" or "." end
  print(table.concat(row, " "))
end
