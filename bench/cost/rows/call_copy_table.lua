-- `lib:call("echo", t)` with SIZE numbers: copied into the callee and back.
local n = ...
local lib = spawn("function echo(x) return x end", { fuel = 1e15, memory = "80M" })
lib:wait()
local t = {}
for i = 1, n do t[i] = i end
return function()
  local _ = lib:call("echo", t)
end
