-- Strings: pattern classes, complements, sets, %b balanced matches, %f frontiers, back-references.
local s = "Hello, World! 123 abc_DEF\t\n"
for _, cls in ipairs({"%a", "%d", "%l", "%u", "%s", "%w", "%x", "%p", "%c"}) do
  local _, n = s:gsub(cls, "")
  print(cls, n)
end
for _, cls in ipairs({"%A", "%D", "%S", "%W"}) do local _, n = s:gsub(cls, "") print(cls, n) end
print(("a1b2c3"):gsub("[%d]", "#"), ("a1b2c3"):gsub("[^%d]", "#"))
print(("x-y_z"):gsub("[-_]", " "), ("a]b"):gsub("[]]", "!"), ("a^b"):gsub("[%^]", "!"))
print(("f(a(b)c)d(e)"):match("%b()"), ("[x[y]z]"):match("%b[]"))
print(("THE (quick) fox"):gsub("%f[%a]%a+", function(w) return "<" .. w .. ">" end))
print(("hello world"):find("%f[%w]%w+$"))
print(("abcabc"):find("(abc)%1"), ("xyzxyz"):match("(x(y)z)%1"))
print(("aaa"):match("^(a-)a$"), ("<<a>>"):match("<(.-)>"), ("<<a>>"):match("<(.*)>"))
print(("key = val"):match("^(%w+)%s*=%s*(%w+)$"))
print(("2024-06-01T10:20:30"):match("(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)"))
print(("  x  "):match("^%s*(.-)%s*$"), ("abc"):match("()b()"))
print(string.format("%q", ("\0a\0"):gsub("%z", "Z")))
print(("one;two;;three"):gsub(";;", ";nil;"))
print(("a.b.c"):gsub("%.", "%%"))
print(("%d"):gsub("%%d", "num"))
print(("abc"):gsub("%w", {a = "1", c = false}))
print(pcall(string.match, "x", "%b"))
print(pcall(string.match, "x", "%f"))
print(pcall(string.rep, "x", -5))
print(("[[x]]"):match("%[%[(.*)%]%]"), ("a+b"):match("a%+b"))
print(("CamelCaseWord"):gsub("(%l)(%u)", "%1_%2"):lower())
