-- Nesting too deep for the parser: 5.4 reports "C stack overflow", without position.
-- (Under pcall: at the top level the standalone interpreter's message handler would add a
-- traceback to the message load returns.)
local function probe(src)
  return select(2, pcall(function()
    local f, e = load(src, "=deep")
    return f and "ok" or e
  end))
end
local function rep(s, n) return string.rep(s, n) end
print(probe("return " .. rep("(", 150) .. "1" .. rep(")", 150)))
print(probe("return " .. rep("(", 250) .. "1" .. rep(")", 250)))
print(probe(rep("do ", 150) .. rep("end ", 150)))
print(probe(rep("do ", 300) .. rep("end ", 300)))
print(probe("x = " .. rep("- ", 400) .. "1"))
print(probe("return " .. rep("{", 300) .. rep("}", 300)))
print(probe(rep("if x then ", 250) .. rep("end ", 250)))
print(probe("a" .. rep(", a", 250) .. " = 1"))
print(pcall(load, "return " .. rep("not ", 1000) .. "nil"))
