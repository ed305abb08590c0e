-- Program: reverse Polish notation calculator and infix-to-RPN conversion (shunting-yard).
local function rpn(expr)
  local st = {}
  for tok in expr:gmatch("%S+") do
    local n = tonumber(tok)
    if n then st[#st + 1] = n
    else
      local b, a = table.remove(st), table.remove(st)
      if a == nil or b == nil then error("stack underflow at '" .. tok .. "'", 0) end
      if tok == "+" then st[#st + 1] = a + b
      elseif tok == "-" then st[#st + 1] = a - b
      elseif tok == "*" then st[#st + 1] = a * b
      elseif tok == "/" then st[#st + 1] = a / b
      elseif tok == "//" then st[#st + 1] = a // b
      elseif tok == "^" then st[#st + 1] = a ^ b
      else error("unknown operator '" .. tok .. "'", 0) end
    end
  end
  if #st ~= 1 then error("bad expression, stack has " .. #st, 0) end
  return st[1]
end
print(rpn("3 4 +"), rpn("5 1 2 + 4 * + 3 -"), rpn("2 3 ^"), rpn("7 2 //"), rpn("1 2 /"))
print(pcall(rpn, "1 +"))
print(pcall(rpn, "1 2 3"))
print(pcall(rpn, "1 2 ?"))
print(pcall(rpn, "1 0 //"))
local prec = {["+"] = 1, ["-"] = 1, ["*"] = 2, ["/"] = 2, ["^"] = 3}
local right = {["^"] = true}
local function to_rpn(infix)
  local out, ops = {}, {}
  for tok in infix:gsub("([%+%-%*/%^%(%)])", " %1 "):gmatch("%S+") do
    if tonumber(tok) then out[#out + 1] = tok
    elseif tok == "(" then ops[#ops + 1] = tok
    elseif tok == ")" then
      while ops[#ops] ~= "(" do out[#out + 1] = table.remove(ops) end
      table.remove(ops)
    else
      while #ops > 0 and ops[#ops] ~= "(" and (prec[ops[#ops]] > prec[tok] or (prec[ops[#ops]] == prec[tok] and not right[tok])) do
        out[#out + 1] = table.remove(ops)
      end
      ops[#ops + 1] = tok
    end
  end
  while #ops > 0 do out[#out + 1] = table.remove(ops) end
  return table.concat(out, " ")
end
for _, e in ipairs({"3 + 4 * 2", "(1 + 2) * (3 + 4)", "2 ^ 3 ^ 2", "10 - 4 - 3", "8 / 2 / 2"}) do
  local r = to_rpn(e)
  print(e, "|", r, "|", rpn(r))
end
