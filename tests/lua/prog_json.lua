-- Program: a JSON-like serializer with sorted keys, escaping, nesting and arrays vs objects.
local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return true
end
local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t"}
local function encode(v, indent)
  indent = indent or ""
  local ty = type(v)
  if ty == "nil" then return "null"
  elseif ty == "boolean" then return tostring(v)
  elseif ty == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    return string.format("%.14g", v)
  elseif ty == "string" then return '"' .. v:gsub('[%c"\\]', function(c) return escapes[c] or string.format("\\u%04x", c:byte()) end) .. '"'
  elseif ty == "table" then
    if next(v) == nil then return "[]" end
    local inner = indent .. "  "
    local parts = {}
    if is_array(v) then
      for _, item in ipairs(v) do parts[#parts + 1] = inner .. encode(item, inner) end
      return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local val = v[k]
      if val == nil then val = v[tonumber(k)] end
      parts[#parts + 1] = inner .. encode(k) .. ": " .. encode(val, inner)
    end
    return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
  end
  error("cannot encode " .. ty)
end
print(encode({name = "Tessera", version = 5.4, tags = {"vm", "lua", "secure"}, nested = {a = 1, b = {true, false}},
  text = 'quote " and \\ and\nnewline\1', empty = {}, count = 3}))
print(encode({1, 2, {3, {4}}}))
print(encode("plain"), encode(42), encode(-0.5), encode(true))
print(pcall(encode, {f = print}))
print(encode({[1] = "a", [3] = "c"}))
