-- A long computation that can be cut wherever its fuel runs out, carried to another machine,
-- and finished there: the primes below two million, counted by a worker process in blocks
-- and summed by a coroutine. The output is the same however many pieces it runs in.
--
--   tessera run examples/jumping.lua                       # in one go
--   tessera run --fuel 10000000 --snapshot-on-exhaust jump.snap examples/jumping.lua
--   tessera resume jump.snap --fuel 10000000 --snapshot-on-exhaust jump.snap   # again, until done
--
-- Nothing in the script knows that it was stopped: the worker is in the middle of a call, the
-- coroutine mid-yield, when the snapshot is written.

local LIMIT, BLOCK = 2000000, 250000

-- The worker sieves one block of numbers per call, with the primes up to sqrt(LIMIT) it found
-- first; it holds only what it computes.
local worker = spawn([[
  local small = {}
  function setup(limit)
    local root = math.floor(math.sqrt(limit)) + 1
    local composite = {}
    for i = 2, root do
      if not composite[i] then
        small[#small + 1] = i
        for j = i * i, root, i do composite[j] = true end
      end
    end
    return #small
  end
  function block(lo, hi)
    local composite = {}
    for _, p in ipairs(small) do
      if p * p > hi then break end
      local first = math.max(p * p, (lo + p - 1) // p * p)
      for j = first, hi, p do composite[j - lo] = true end
    end
    local count, last = 0, nil
    for n = math.max(lo, 2), hi do
      if not composite[n - lo] then count, last = count + 1, n end
    end
    return count, last
  end
]], {name = "sieve"})
worker:wait()
print("small primes", worker:call("setup", LIMIT))

-- The blocks, handed out by a coroutine.
local blocks = coroutine.wrap(function()
  for lo = 0, LIMIT - 1, BLOCK do coroutine.yield(lo, math.min(lo + BLOCK - 1, LIMIT - 1)) end
end)

local total = 0
for lo, hi in blocks do
  local count, last = worker:call("block", lo, hi)
  total = total + count
  print(string.format("%8d..%-8d %6d primes, the last %d", lo, hi, count, last))
end
print("primes below " .. LIMIT .. ": " .. total)
