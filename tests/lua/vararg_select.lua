-- Varargs: select with '#', positive and negative indices, errors.
print(select("#"), select("#", nil), select("#", nil, nil), select("#", 1, 2, 3))
print(select(1, "a", "b", "c"))
print(select(2, "a", "b", "c"))
print(select(3, "a", "b", "c"))
print(select(4, "a", "b", "c"))
print(select(-1, "a", "b", "c"))
print(select(-2, "a", "b", "c"))
print(select(-3, "a", "b", "c"))
print(pcall(select, -4, "a", "b", "c"))
print(pcall(select, 0, "a"))
print(pcall(select, "x"))
print(pcall(select))
print(select("2", "a", "b"))
print(select(2.0, "a", "b"))
print(pcall(select, 1.5, "a"))
local function count(...) return select("#", ...) end
print(count(), count(nil), count(1, nil), count(nil, nil, nil))
local function last(...) return (select(-1, ...)) end
print(last(1, 2, 3), last("only"))
local function second(...) return (select(2, ...)) end
print(second(1), second(1, 2, 3))
local function sum(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + (select(i, ...) or 0) end
  return s
end
print(sum(1, 2, 3, nil, 5))
print(select(100, 1, 2))
print(select("#", select(2, 1, 2, 3)))
print(pcall(select, math.mininteger, 1))
