-- Lexical: identifiers, case sensitivity, keyword-like names as table keys and strings.
local _ = 1
local _x, x_, _1, A, a = 2, 3, 4, 5, 6
print(_, _x, x_, _1, A, a)
local And, OR, Nil = "And", "OR", "Nil"
print(And, OR, Nil)
local t = {}
t["end"] = 1
t["while"] = 2
t["nil"] = 3
print(t["end"], t["while"], t["nil"])
local ok, msg = load("local t = {} t.end = 1")
print(ok, msg)
local kw = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
  "until", "while"}
local count = 0
for _, k in ipairs(kw) do
  local f = load("local " .. k .. " = 1")
  if f == nil then count = count + 1 end
end
print("keywords rejected as locals:", count, #kw)
local goto_ok = load("local Goto = 1 return Goto")
print(goto_ok())
local longname_with_many_characters_in_it_1234567890 = "long"
print(longname_with_many_characters_in_it_1234567890)
local aB, Ab = 1, 2
print(aB, Ab)
print(load("return 1a"))
print(load("local 1x = 2"))
print(load("x = @"))
print(load("x = $"))
