-- Lexer: every byte 0..255 in many positions of a small chunk; `load` must give exactly the
-- reference message. A NUL byte read as a token is token 0, which the scanner's error routine
-- takes for "no token": such messages have no `near` part.
print(load("while \0 do end"))
print(load("for i = 1, 2 \0"))
print(load("local \0"))
print(load("return 1 \0"))
print(load("x = 'a\0b' y"))
print(load("local 'a\0b'"))
print(load("x = \1"))
print(load("x = \31"))
print(load("x = \127"))
print(load("x = \128"))
print(load("x = \255"))
print(load("x = 1 --[[ \0 ]] +"))
print(load("return 'a\\\0'"))
print(load("return '\\x\0'"))
print(load("return '\\u{\0'"))

-- The sweep. Runs of bytes whose messages agree once the byte itself is masked are printed
-- as one line, so each line checks every byte of its run.
local templates = {
  "X", "return X", "x = 1 X", "local aXb = 1", "local X", "do X end", "if X then end",
  "for X", "while X do end", "return 'aXb'", "return \"aX", "return [[aXb]]", "return [[aX",
  "--aX\nreturn 1", "--[[X]] return 1", "--[[X", "--[==[X]=]", "return '\\X'", "return '\\xX'",
  "return '\\x4X'", "return '\\u{X'", "return '\\u{4X'", "return '\\1X'", "return '\\z X'",
  "return 1X", "return 0xX", "return 1eX", "return .X", "return a.X", "a:X", "local x <X> = 1",
  "::X::", "goto X", "[=X", "\nX", "return 1 X 2", "x = {X}", "f(X)", "return X..",
  "return ..X", "X = 1", "local function X() end", "return function(X) end",
  "x = 'abc\\X'", "return [==X", "local t <close X", "return 'X", "return 3 .. X", "x.y X= 1",
  "return 1 --X\n+ 2", "return 0x1pX", "return 1.X", "return \"\\u{X}\"", "return 'a'X",
  "local 'aXb'", "x = 1 'aX'", "local 0xX.8", "return a[X]", "return x:y X", "repeat until X",
  "function a:X", "return f'X' 'X'", "local a <const>X", "return 'a\\\rX'", "return [[\rX]]",
  "return 'a\0X' X",
}
for k, t in ipairs(templates) do
  local first, last, shown
  local function flush()
    if shown then print(k, first .. "-" .. last, shown) end
  end
  for b = 0, 255 do
    local c = string.char(b)
    local src = t:gsub("X", function() return c end)
    local msg
    if b == 27 and src:byte(1) == 27 then
      msg = "(binary)" -- binary chunks are outside this test
    else
      local f, e = load(src, "=s")
      msg = f and "ok" or e
    end
    local mark = b == 1 and "\2" or "\1"
    local pat = c:gsub("%W", "%%%0")
    msg = msg:gsub("<\\" .. b .. ">", "<\\B>"):gsub("'" .. pat .. "'", "'" .. mark .. "'")
    local at = msg:find(" near '", 1, true)
    if at then
      msg = msg:sub(1, at + 5) .. msg:sub(at + 6):gsub(pat, function() return mark end)
    end
    msg = string.format("%q", msg)
    if msg == shown then
      last = b
    else
      flush()
      first, last, shown = b, b, msg
    end
  end
  flush()
end
