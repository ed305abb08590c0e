-- `lib:call("echo", t)` with SIZE small tables: copied into the callee and back.
local n = ...
local lib = spawn("function echo(x) return x end", { fuel = 1e15, memory = "80M" })
lib:wait()
local t = {}
for i = 1, n do t[i] = { x = i } end
return function()
  local _ = lib:call("echo", t)
end
