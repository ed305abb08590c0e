-- `__tostring` on the string metatable: `luaL_tolstring` asks every value for it first, so
-- `tostring`, `print` and `%s` in `string.format` call it for strings too. Issue 14, family 4.
local mt = getmetatable("")
local calls = 0
mt.__tostring = function(s) calls = calls + 1 return "<" .. s .. ">" end
print("a", tostring("b"), string.format("%s", "c"))
print(string.format("%5s|%-5s|%.2s|%s|%d|%q|%s", "x", "y", "zzz", 12, 7, "q", "end"))
print(string.format("%s %s %s %s", "a", 1, true, nil))
print(("%s=%s"):format("k", "v"))
print(calls)
print(#tostring("abc"), tostring(12), tostring(nil), tostring(true))
print(string.format("%s", ""), tostring(""))
print("multi", "args", "here", 1, 2.5, "x")
print(select("#", print()))
mt.__tostring = function(s) return #s end
print("abc", tostring("hello"), string.format("[%s]", "four"))
local function with(tm, f, ...)
  local saved = mt.__tostring
  mt.__tostring = tm
  local r = table.pack(pcall(f, ...))
  mt.__tostring = nil
  print(table.unpack(r, 1, r.n))
  mt.__tostring = saved
end
local bad = function(s) return nil end
with(bad, tostring, "x")
with(bad, print, "x")
with(bad, string.format, "%s", "x")
with(bad, string.format, "%d %s", 1, "x")
with(bad, string.format, "%d", 1)
local boom = function(s) error("inner " .. s) end
with(boom, tostring, "x")
with(boom, string.format, "%s", "y")
with(boom, print, "z")
with(function(s) return {} end, tostring, "x")
with(function(s) return true end, tostring, "x")
with(function(s) return 1.5 end, tostring, "x")
with("notafunction", tostring, "x")
with("notafunction", print, "x")
mt.__tostring = function(s, extra) return s .. "/" .. select("#", extra) end
print(tostring("n"))
mt.__tostring = setmetatable({}, {__call = function(self, s) return "called:" .. s end})
print(tostring("x"), string.format("%s", "y"))
mt.__tostring = function(s) return "t" .. s end
local t = setmetatable({}, {__tostring = function() return "tbl" end})
print(t, tostring(t), string.format("%s %s", t, "s"))
print(table.concat({"a", "b"}, ","), ("x"):rep(3, "-"), "a" .. "b")
print(pcall(error, "err"))
print(select(2, pcall(error, "err")))
print(string.format("%-3s|", "ab"))
mt.__tostring = nil
print("back", tostring("to"), string.format("%s", "normal"))
