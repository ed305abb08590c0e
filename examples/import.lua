-- Import a bundled library into a sandbox of its own, with a small budget, and watch the
-- budget hold.   Run:  cargo run --release -- run examples/import.lua
--
-- The json module runs in a child process: it shares no objects with us (arguments and
-- results are copied), holds no keys we did not give it, and spends its own fuel, which is
-- also charged to us.

local json = import("json", {name = "json", fuel = 50000, memory = "16M"})
print(json.encode({hello = "world", n = 42, list = {1, 2, 3}}))
print(json.decode('{"nested": {"ok": true}}').nested.ok)

-- A job too big for the library's budget ends in a fuel fault, which we catch.
local big = {}
for i = 1, 3000 do big[i] = {id = i, tags = {"a", "b"}} end
local ok, err = pcall(json.encode, big)
print(ok, err.kind, tostring(err))

local lib = err.process
local usage = lib:usage()
print("the library used " .. usage.fuel_used .. " of its " .. usage.fuel_limit .. " fuel units")

-- Refuel it and resume it: the suspended call finishes where it stopped (its answer goes
-- nowhere: we had our fault), and the library is ready for the job again.
lib:refuel(20000000)
lib:resume()
local text = json.encode(big)
print("after refuel: " .. #text .. " bytes of JSON, status " .. lib:status())

-- Another library, another sandbox: a deterministic pretty-printer.
local pretty = import("pretty")
print(pretty.format({sandboxed = true, libraries = {"json", "pretty"}, limits = {fuel = 50000}}))
