-- Program: calendar arithmetic: leap years, day of week (Zeller), days between dates, month grid.
local function leap(y) return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) end
local mdays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
local function days_in(y, m) return m == 2 and leap(y) and 29 or mdays[m] end
local function dow(y, m, d)
  if m < 3 then m = m + 12 y = y - 1 end
  local k, j = y % 100, y // 100
  local h = (d + (13 * (m + 1)) // 5 + k + k // 4 + j // 4 + 5 * j) % 7
  return (h + 5) % 7 + 1
end
local names = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
local function ordinal(y, m, d)
  local n = d
  for yy = 1, y - 1 do n = n + (leap(yy) and 366 or 365) end
  for mm = 1, m - 1 do n = n + days_in(y, mm) end
  return n
end
print(leap(1900), leap(2000), leap(2024), leap(2023))
for _, date in ipairs({{2000, 1, 1}, {1969, 7, 20}, {2024, 2, 29}, {1999, 12, 31}}) do
  print(string.format("%04d-%02d-%02d", date[1], date[2], date[3]), names[dow(date[1], date[2], date[3])])
end
print("days 2000-01-01 -> 2024-02-29:", ordinal(2024, 2, 29) - ordinal(2000, 1, 1))
local function month_grid(y, m)
  print(string.format("     %04d-%02d", y, m))
  print("Mo Tu We Th Fr Sa Su")
  local line = string.rep("   ", dow(y, m, 1) - 1)
  for d = 1, days_in(y, m) do
    line = line .. string.format("%2d", d)
    if dow(y, m, d) == 7 then print(line) line = "" else line = line .. " " end
  end
  if #line > 0 then print((line:gsub("%s+$", ""))) end
end
month_grid(2024, 2)
local fridays13 = 0
for y = 2000, 2029 do for m = 1, 12 do if dow(y, m, 13) == 5 then fridays13 = fridays13 + 1 end end end
print("Friday 13ths 2000-2029:", fridays13)
