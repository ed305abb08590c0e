-- The cost audit's driver: runs one row of bench/cost as a child process with a fixed fuel and
-- memory budget and prints what the child used, so bench/cost/run.py can price the host work
-- against fuel exactly (the child's own meter, not the root's rounded stop).
--
--   tessera run --clock --dir rows=bench/cost/rows:r [--dir data=DIR:rwcdl] \
--     --fuel F2 --memory M2 bench/cost/driver.lua ROW SIZE FUEL MEMORY
--
-- A row file takes SIZE as `...`, sets up its data, and returns `op`, a function doing one
-- piece of the work; the child calls `op` once, prints a marker (so the runner knows at least
-- one op fitted in the budget), then calls it until its fuel runs out.
local row, size, fuel, memory = ...
fuel = math.tointeger(tonumber(fuel))
local body = caps.rows:read(row .. ".lua")
local src = "local op = (function(...)\n" .. body .. "\nend)(" .. size .. ")\n"
  .. "op() print('cost-audit: first op done')\n"
  .. "while true do op() end\n"
local grants = { console = caps.console, data = caps.data }
local t0 = caps.clock:now()
local p = spawn(src, { fuel = fuel, memory = memory, caps = grants, name = row })
local ok, err = pcall(p.wait, p)
local t1 = caps.clock:now()
local u = p:usage()
local kind = ok and "done" or (type(err) == "table" and err.kind or "error")
local msg = ok and "" or tostring(err):gsub("\n", " "):sub(1, 300)
print(string.format("cost-audit: result kind=%s fuel_used=%d memory_used=%d wall=%.6f msg=%s",
  kind, u.fuel_used, u.memory_used, t1 - t0, msg))
