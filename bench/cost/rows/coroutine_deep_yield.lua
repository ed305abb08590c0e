-- resume/yield of a coroutine whose yield is SIZE Lua calls deep.
local n = ...
local yield = coroutine.yield
local co = coroutine.wrap(function()
  local function dive(d)
    if d == 0 then
      while true do yield() end
    end
    return (dive(d - 1))
  end
  return dive(n)
end)
co()
return function()
  co()
end
