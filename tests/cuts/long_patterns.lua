-- Pattern matching over long subjects: one call of the matcher takes thousands of steps, so
-- cuts land inside it. (A matcher's budget hook buys its steps ahead in batches and gives
-- back what it did not use: a cut run must still spend what one run spends.)
local s = ("ab"):rep(1000) .. "c"
local lazy = ("a"):rep(200)
for round = 1, 2 do
  local i, j = s:find("[ab]*c")
  local head = s:match("^(.-)c")
  local _, swaps = s:gsub("ab", "x")
  local pairs_seen = 0
  for a, b in s:gmatch("(a)(b)") do pairs_seen = pairs_seen + #a + #b end
  local miss = lazy:find(".-b")
  local upto = s:find("c", 1, true)
  print(round, i, j, #head, swaps, pairs_seen, miss, upto)
end
