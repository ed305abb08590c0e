-- Mandelbrot set: float-heavy inner loop; prints a checksum of the bitmap.
local N = BENCH_SMALL and 150 or 900
local iter = 50
local checksum = 0
for y = 0, N - 1 do
  local Ci = 2 * y / N - 1
  local bits = 0
  for x = 0, N - 1 do
    local Cr = 2 * x / N - 1.5
    local Zr, Zi, Tr, Ti = 0.0, 0.0, 0.0, 0.0
    local i = 0
    while i < iter and Tr + Ti <= 4.0 do
      Zi = 2 * Zr * Zi + Ci
      Zr = Tr - Ti + Cr
      Tr = Zr * Zr
      Ti = Zi * Zi
      i = i + 1
    end
    if Tr + Ti <= 4.0 then bits = bits + 1 end
    checksum = (checksum * 31 + i) % 1000000007
  end
  checksum = (checksum + bits) % 1000000007
end
print("mandelbrot", checksum)
