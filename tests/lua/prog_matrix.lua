-- Program: matrix operations (multiply, transpose, determinant, identity) with metatables.
local Matrix = {}
Matrix.__index = Matrix
function Matrix.new(rows) return setmetatable(rows, Matrix) end
function Matrix.identity(n)
  local m = {}
  for i = 1, n do m[i] = {} for j = 1, n do m[i][j] = i == j and 1 or 0 end end
  return Matrix.new(m)
end
function Matrix.__mul(a, b)
  local r = {}
  for i = 1, #a do
    r[i] = {}
    for j = 1, #b[1] do
      local s = 0
      for k = 1, #b do s = s + a[i][k] * b[k][j] end
      r[i][j] = s
    end
  end
  return Matrix.new(r)
end
function Matrix.__eq(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do for j = 1, #a[i] do if a[i][j] ~= b[i][j] then return false end end end
  return true
end
function Matrix.__tostring(m)
  local lines = {}
  for i = 1, #m do lines[i] = "[" .. table.concat(m[i], " ") .. "]" end
  return table.concat(lines, "\n")
end
function Matrix:transpose()
  local r = {}
  for j = 1, #self[1] do r[j] = {} for i = 1, #self do r[j][i] = self[i][j] end end
  return Matrix.new(r)
end
function Matrix:det()
  local n = #self
  if n == 1 then return self[1][1] end
  if n == 2 then return self[1][1] * self[2][2] - self[1][2] * self[2][1] end
  local d = 0
  for c = 1, n do
    local minor = {}
    for i = 2, n do
      local row = {}
      for j = 1, n do if j ~= c then row[#row + 1] = self[i][j] end end
      minor[#minor + 1] = row
    end
    d = d + (c % 2 == 1 and 1 or -1) * self[1][c] * Matrix.new(minor):det()
  end
  return d
end
local A = Matrix.new({{1, 2}, {3, 4}})
local B = Matrix.new({{0, 1}, {1, 0}})
print(A * B)
print(B * A)
print(A * Matrix.identity(2) == A, A == B, A:transpose():transpose() == A)
print(A:transpose())
print(A:det(), Matrix.new({{2, 0, 1}, {1, 3, 2}, {1, 1, 1}}):det(), Matrix.identity(4):det())
local R = Matrix.new({{1, 2, 3}})
print(R * R:transpose(), #(R:transpose() * R))
local P = A
for _ = 1, 5 do P = P * A end
print(P)
