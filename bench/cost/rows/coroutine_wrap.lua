-- `coroutine.wrap` of a generator yielding SIZE times, run to its end.
local n = ...
local yield = coroutine.yield
return function()
  local gen = coroutine.wrap(function() for i = 1, n do yield(i) end end)
  for _ = 1, n do gen() end
end
