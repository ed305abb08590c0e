-- gsub and gmatch skip the positions where a pattern's first plain character is not (the
-- machine's attempt there fails at once): the results, the counts and the errors are lua5.4's.
local s = "line 1: key1=value1; other=1.5\nline 2: key2=value2; k=v; kk=vv\n"
local function show(...) print(select('#', ...), ...) end

show(s:gsub("key(%d+)", "K%1"))
show(s:gsub("k+", "<%0>"))
show(s:gsub("k", "#", 2))
show(s:gsub("e", ""))
show(s:gsub("=", {["="] = ":"}))
show(s:gsub("v(%w*)", function(w) return w:upper() end))
show(("aaa"):gsub("a", "b", 0))
show((""):gsub("x", "y"))
show(("xyz"):gsub("q", "y"))
show(("abcabc"):gsub("c", "!"))
show(("]]]x]"):gsub("]x", "_"))
show(("a)b"):gsub("b", "_"))
show(("k%"):gsub("q%%", "_"))
-- The first character made optional or repeated, specials first: not skipped.
show(("kkxk"):gsub("k*", "-"))
show(("kkxk"):gsub("k-x", "-"))
show(("kkxk"):gsub("k?x", "-"))
show(("a.b"):gsub(".", "%0%0"))
show(("a$b"):gsub("$", "!"))
show(("^a^"):gsub("^a", "!"))
-- Errors past the first character come where lua5.4's do.
print(pcall(string.gsub, "abc", "b%", "x"))
print(pcall(string.gsub, "xyz", "b%", "x"))
print(pcall(string.gsub, "abc", "b[", "x"))
print(pcall(string.gsub, "abc", "b)", "x"))
print(pcall(string.gsub, "xyz", ")", "x"))

local n = 0
for k, v in s:gmatch("k(%w*)=(%w+)") do n = n + 1 print(n, k, v) end
for w in ("one two  three"):gmatch("t%w+") do print(w) end
for w in ("^x^y"):gmatch("^.") do print(w) end
for a in ("abcabc"):gmatch("c", 4) do print("c at", a) end
for a in ("abc"):gmatch("c", 10) do print("never", a) end
for a in ("kk"):gmatch("k") do print("k", a) end
print(pcall(function() for a in ("xxb"):gmatch("b%") do end end))
local long = ("x"):rep(5000) .. "key9=v" .. ("y"):rep(5000)
show(long:gsub("key(%d)", "%1"))
for k in long:gmatch("ke(y)") do print(k) end
-- find and match, the same way.
print(s:find("key(%d)"), s:find("k=", 1), s:find("v", 40), s:find("q%d"))
print(s:match("key(%d)=(%w+)"), s:match("kk=(%w+)"), s:match("z"), ("abc"):match("c", -1))
print(long:find("key%d"), long:match("ke(y%d)"), long:find("y", 5007))
print(pcall(string.find, "abc", "c%"), pcall(string.find, "xyz", "c%"))
print(pcall(string.match, "abc", "c)"), pcall(string.find, "xyz", ")"))
