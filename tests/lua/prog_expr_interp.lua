-- Program: a recursive-descent parser and evaluator for arithmetic expressions with variables.
local function parse(src)
  local pos = 1
  local function skip() pos = src:find("%S", pos) or #src + 1 end
  local function peek() skip() return src:sub(pos, pos) end
  local expr
  local function atom()
    local c = peek()
    if c == "(" then
      pos = pos + 1
      local e = expr()
      if peek() ~= ")" then error("expected ) at " .. pos, 0) end
      pos = pos + 1
      return e
    elseif c == "-" then pos = pos + 1 return {"neg", atom()}
    end
    local num = src:match("^%d+%.?%d*", pos)
    if num then pos = pos + #num return {"num", tonumber(num)} end
    local name = src:match("^%a%w*", pos)
    if name then pos = pos + #name return {"var", name} end
    error("unexpected '" .. c .. "' at " .. pos, 0)
  end
  local function power() local b = atom() if peek() == "^" then pos = pos + 1 return {"^", b, power()} end return b end
  local function term()
    local l = power()
    while peek() == "*" or peek() == "/" or peek() == "%" do local op = peek() pos = pos + 1 l = {op, l, power()} end
    return l
  end
  function expr()
    local l = term()
    while peek() == "+" or peek() == "-" do local op = peek() pos = pos + 1 l = {op, l, term()} end
    return l
  end
  local tree = expr()
  if pos <= #src then error("trailing input at " .. pos, 0) end
  return tree
end
local ops = {["+"] = function(a, b) return a + b end, ["-"] = function(a, b) return a - b end,
  ["*"] = function(a, b) return a * b end, ["/"] = function(a, b) return a / b end,
  ["%"] = function(a, b) return a % b end, ["^"] = function(a, b) return a ^ b end}
local function eval(t, env)
  if t[1] == "num" then return t[2] end
  if t[1] == "var" then return env[t[2]] or error("unbound " .. t[2], 0) end
  if t[1] == "neg" then return -eval(t[2], env) end
  return ops[t[1]](eval(t[2], env), eval(t[3], env))
end
local function show(t)
  if t[1] == "num" then return tostring(t[2]) elseif t[1] == "var" then return t[2]
  elseif t[1] == "neg" then return "(-" .. show(t[2]) .. ")" end
  return "(" .. show(t[2]) .. " " .. t[1] .. " " .. show(t[3]) .. ")"
end
local env = {x = 3, y = 4}
for _, src in ipairs({"1 + 2 * 3", "(1 + 2) * 3", "2 ^ 3 ^ 2", "-x + y", "x * x + y * y", "10 / 4", "7 % 3 + 0.5", "--2"}) do
  local tree = parse(src)
  print(src, "=>", show(tree), "=", eval(tree, env))
end
print(pcall(parse, "1 +"))
print(pcall(parse, "(1"))
print(pcall(parse, "1 2"))
print(pcall(function() return eval(parse("z + 1"), env) end))
