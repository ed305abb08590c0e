-- `lib:call("echo", s)` with a SIZE-byte string: copied into the callee and back.
local n = ...
local lib = spawn("function echo(x) return x end", { fuel = 1e15, memory = "48M" })
lib:wait()
local s = string.rep("a", n)
return function()
  local _ = lib:call("echo", s)
end
