-- `coroutine.create` and a `resume` with SIZE arguments that the body returns.
local n = ...
local args = {}
for i = 1, n do args[i] = i end
local function body(...) return ... end
return function()
  local _ = coroutine.resume(coroutine.create(body), table.unpack(args))
end
