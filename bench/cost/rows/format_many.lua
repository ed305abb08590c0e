-- `string.format` with SIZE `%d` directives and SIZE arguments.
local n = ...
local fmt = string.rep("%d ", n)
local args = {}
for i = 1, n do args[i] = i end
return function()
  local _ = fmt:format(table.unpack(args))
end
