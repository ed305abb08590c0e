-- Whether a coroutine may yield is read off its top frame (each frame knows whether one
-- below it cannot be yielded across): at any depth, above a C boundary or not.
local function deep(n, f)
  if n == 0 then return f() end
  return (deep(n - 1, f))
end

-- Deep Lua recursion, no C boundary: yields work and isyieldable says so, every time.
local co = coroutine.wrap(function()
  return deep(500, function()
    for i = 1, 3 do coroutine.yield(i, coroutine.isyieldable()) end
    return "end"
  end)
end)
print(co()) print(co()) print(co()) print(co())

-- A comparator of table.sort cannot yield, however deep below it the yield is.
for _, depth in ipairs({0, 1, 50, 300}) do
  local c = coroutine.create(function()
    local t = {3, 1, 2}
    table.sort(t, function(a, b)
      return deep(depth, function()
        assert(not coroutine.isyieldable())
        coroutine.yield("never")
        return a < b
      end)
    end)
  end)
  print(depth, coroutine.resume(c))
  print(coroutine.status(c))
end

-- Nor can a gsub replacement function, nor tostring's __tostring.
local g = coroutine.create(function()
  return (string.gsub("ab", "%w", function(x) return deep(20, function() coroutine.yield(x) end) end))
end)
print(coroutine.resume(g))
local ts = coroutine.create(function()
  return tostring(setmetatable({}, {__tostring = function() coroutine.yield("t") return "x" end}))
end)
print(coroutine.resume(ts))

-- pcall and metamethods called from Lua code can be yielded across, deep or not.
local p = coroutine.wrap(function()
  local ok, v = pcall(deep, 100, function()
    local obj = setmetatable({}, {__index = function(_, k) return coroutine.yield(k) end})
    return deep(100, function() return obj.key end)
  end)
  return ok, v, coroutine.isyieldable()
end)
print(p())
print(p("value"))

-- The main thread is never yieldable; a coroutine that caught the error goes on.
print(coroutine.isyieldable())
local after = coroutine.wrap(function()
  local ok, err = pcall(table.sort, {2, 1}, function(a, b) coroutine.yield() return a < b end)
  print("caught", ok, err)
  coroutine.yield("still yieldable", coroutine.isyieldable())
  return "done"
end)
print(after())
print(after())
