-- An integer loop with a NaN limit: the reference treats NaN as "below every integer",
-- so a negative step runs (down to math.mininteger) and a positive step skips.
local function run(init, limit, step)
  local o = {}
  for i = init, limit, step do
    o[#o + 1] = i
    if #o >= 4 then break end
  end
  return #o, table.concat(o, " ")
end
print(run(3, 0/0, -1))
print(run(3, 0/0, 1))
print(run(math.maxinteger - 1, 0/0, -2))
print(run(1, -(0/0), -(1 << 62)))
print(run(3.0, 0/0, -1))
print(run(0, 0/0, 1))
