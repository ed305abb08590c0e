-- Errors: nested pcall, errors in error handling, pcall return values and status.
print(pcall(pcall, error, "x"))
print(pcall(function() return pcall(function() error("inner") end) end))
print(pcall(function()
  local ok, e = pcall(error, "first")
  error("second after " .. e)
end))
print(pcall(pcall))
print(pcall(function() return 1, 2, 3 end))
print(select("#", pcall(function() end)))
local depth = 0
local function nest(n)
  if n == 0 then error("bottom") end
  local ok, e = pcall(nest, n - 1)
  depth = depth + 1
  error(e, 0)
end
print(pcall(nest, 5), depth)
local ok, e = pcall(function()
  local ok2, e2 = pcall(function()
    local ok3, e3 = pcall(error, {level = 3})
    return e3.level
  end)
  return e2 + 1
end)
print(ok, e)
print(pcall(error, nil))
print(pcall(pcall, pcall, error, "deep"))
local function safe_div(a, b)
  local ok, r = pcall(function() return a // b end)
  if ok then return r else return "error: " .. r end
end
print(safe_div(7, 2), safe_div(7, 0))
local results = {}
for i = 1, 3 do
  local ok2, v = pcall(function() if i == 2 then error("fail " .. i, 0) end return i end)
  results[#results + 1] = tostring(ok2) .. "/" .. tostring(v)
end
print(table.concat(results, " "))
print(pcall(function() local t = setmetatable({}, {__index = function() return pcall(error, "in meta") end}) return t.x end))
local co = coroutine.wrap(function() return pcall(error, "in coroutine") end)
print(co())
print(pcall(print, "print inside pcall"))
print(pcall(string.rep, "ab", 3))
