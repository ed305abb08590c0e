-- Program: a string tokenizer for a small language (numbers, names, strings, operators, comments).
local function tokenize(src)
  local tokens, i = {}, 1
  while i <= #src do
    local c = src:sub(i, i)
    if c:match("%s") then i = i + 1
    elseif src:sub(i, i + 1) == "--" then
      local e = src:find("\n", i) or #src + 1
      i = e
    elseif c:match("%d") then
      local num = src:match("^%d+%.?%d*", i)
      tokens[#tokens + 1] = {"num", num} i = i + #num
    elseif c:match("[%a_]") then
      local name = src:match("^[%w_]+", i)
      local kw = ({["if"] = true, ["then"] = true, ["end"] = true, ["let"] = true})[name]
      tokens[#tokens + 1] = {kw and "kw" or "name", name} i = i + #name
    elseif c == '"' then
      local j = src:find('"', i + 1, true)
      if not j then error("unterminated string at " .. i, 0) end
      tokens[#tokens + 1] = {"str", src:sub(i + 1, j - 1)} i = j + 1
    else
      local op = src:match("^[=<>~]=", i) or c
      if not op:match("^[%+%-%*/%%=<>~%(%)%,;]=?$") then error("bad char '" .. c .. "' at " .. i, 0) end
      tokens[#tokens + 1] = {"op", op} i = i + #op
    end
  end
  return tokens
end
local src = [[
let x = 42 -- the answer
if x >= 10 then print("big", x * 2.5) end
let y_2 = (x + 1) % 7 ~= 3
]]
for _, t in ipairs(tokenize(src)) do print(t[1], t[2]) end
print(pcall(tokenize, 'let s = "open'))
print(pcall(tokenize, "x = $"))
print(#tokenize(""), #tokenize("   -- only comment"))
