-- json: encode Lua values as JSON text and decode JSON text (RFC 8259) into Lua values.
--
--   json.encode(value [, opts]) -> string
--     nil -> null; booleans; integers as integers; floats with %.17g (a float that would read
--     back as an integer gets ".0", so 1.0 stays a float); inf and nan are refused.
--     Strings are escaped (\" \\ \b \f \n \r \t, other control characters as \u00XX); bytes
--     from 0x80 up are passed through unchanged. A table whose keys are exactly 1..#t is an
--     array; an empty table is [] unless opts.empty_object is true. Any other table is an
--     object: its keys must be strings and are written in sorted order. Cycles are an error.
--     opts.indent = number of spaces per level gives pretty (multi-line) output.
--
--   json.decode(text) -> value
--     Full JSON: objects, arrays, strings with every escape (\uXXXX surrogate pairs become
--     UTF-8), numbers (integers stay Lua integers when they fit, otherwise floats), true,
--     false, null. null decodes to nil: an object member whose value is null is absent, and
--     an array element that is null leaves a hole (so #t of such an array is unreliable).
--     Nesting deeper than 200 arrays/objects is refused.
--
-- Errors are raised as strings "json.encode: ..." and "json.decode: <what> at position N".
-- Uses only the base library, string, table, math and utf8.

local byte, char, find, format, sub = string.byte, string.char, string.find, string.format, string.sub
local concat, sort = table.concat, table.sort
local mathtype = math.type
local utf8char = utf8.char

local MAX_DEPTH = 200

---------------------------------------------------------------------------------------------
-- encode

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}
for i = 0, 31 do
  local c = char(i)
  if not escapes[c] then escapes[c] = format('\\u%04x', i) end
end

local function encode_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', escapes) .. '"'
end

local function encode_number(x)
  if mathtype(x) == 'integer' then return format('%d', x) end
  if x ~= x then error('json.encode: cannot encode NaN', 0) end
  if x == math.huge or x == -math.huge then
    error('json.encode: cannot encode ' .. (x > 0 and 'inf' or '-inf'), 0)
  end
  local s = format('%.17g', x)
  if not find(s, '[.eE]') then s = s .. '.0' end
  return s
end

-- Renders a path like $.a[2].b for error messages.
local function path_string(path, n)
  local parts = { '$' }
  for i = 1, n do
    local k = path[i]
    if type(k) == 'number' then
      parts[#parts + 1] = '[' .. k .. ']'
    elseif find(k, '^[%a_][%w_]*$') then
      parts[#parts + 1] = '.' .. k
    else
      parts[#parts + 1] = '[' .. encode_string(k) .. ']'
    end
  end
  return concat(parts)
end

local function encode(value, opts)
  if opts ~= nil and type(opts) ~= 'table' then
    error('json.encode: options must be a table, got ' .. type(opts), 0)
  end
  opts = opts or {}
  local indent = opts.indent
  if indent ~= nil and (mathtype(indent) ~= 'integer' or indent < 0) then
    error('json.encode: opts.indent must be a non-negative integer', 0)
  end
  local empty_object = opts.empty_object and true or false
  local pretty = indent ~= nil
  local unit = pretty and string.rep(' ', indent) or ''
  local colon = pretty and ': ' or ':'

  local out = {}       -- output pieces
  local active = {}    -- tables being encoded (cycle detection)
  local path = {}      -- keys from the root to the current value
  local depth = 0

  local function put(s) out[#out + 1] = s end

  local function newline(level)
    if pretty then put('\n' .. string.rep(unit, level)) end
  end

  local value_
  local function encode_table(t)
    if active[t] then
      error('json.encode: cycle at ' .. path_string(path, depth), 0)
    end
    local n = #t
    local count, all_strings = 0, true
    for k in next, t do
      count = count + 1
      if type(k) ~= 'string' then all_strings = false end
    end
    local is_array
    if count == 0 then
      is_array = not empty_object
    elseif count == n then
      is_array = true
      for i = 1, n do
        if rawget(t, i) == nil then is_array = false break end
      end
    else
      is_array = false
    end
    if not is_array and not all_strings then
      for k in next, t do
        if type(k) ~= 'string' then
          error(format('json.encode: object key must be a string, got %s (%s) at %s',
            type(k), tostring(k), path_string(path, depth)), 0)
        end
      end
    end

    active[t] = true
    depth = depth + 1
    local level = depth
    if is_array then
      if n == 0 then
        put('[]')
      else
        put('[')
        for i = 1, n do
          if i > 1 then put(',') end
          newline(level)
          path[level] = i
          value_(rawget(t, i))
        end
        newline(level - 1)
        put(']')
      end
    else
      local keys = {}
      for k in next, t do keys[#keys + 1] = k end
      if #keys == 0 then
        put('{}')
      else
        sort(keys)
        put('{')
        for i, k in ipairs(keys) do
          if i > 1 then put(',') end
          newline(level)
          put(encode_string(k))
          put(colon)
          path[level] = k
          value_(rawget(t, k))
        end
        newline(level - 1)
        put('}')
      end
    end
    path[level] = nil
    depth = depth - 1
    active[t] = nil
  end

  value_ = function(v)
    local tv = type(v)
    if v == nil then
      put('null')
    elseif tv == 'boolean' then
      put(v and 'true' or 'false')
    elseif tv == 'number' then
      local ok, s = pcall(encode_number, v)
      if not ok then error(s .. ' at ' .. path_string(path, depth), 0) end
      put(s)
    elseif tv == 'string' then
      put(encode_string(v))
    elseif tv == 'table' then
      encode_table(v)
    else
      error(format('json.encode: cannot encode a %s at %s', tv, path_string(path, depth)), 0)
    end
  end

  value_(value)
  return concat(out)
end

---------------------------------------------------------------------------------------------
-- decode

local function decode(text)
  if type(text) ~= 'string' then
    error('json.decode: expected a string, got ' .. type(text), 0)
  end
  local len = #text

  local function fail(what, pos)
    error(format('json.decode: %s at position %d', what, pos), 0)
  end

  local function skip(pos)
    local _, e = find(text, '^[ \t\r\n]*', pos)
    return e + 1
  end

  local function hex4(pos)
    local h = sub(text, pos, pos + 3)
    if not find(h, '^%x%x%x%x$') then fail('invalid \\u escape', pos - 2) end
    return tonumber(h, 16)
  end

  local simple = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t',
  }

  -- pos is at the opening quote; returns the string and the position after the closing quote.
  local function read_string(pos)
    local start = pos
    local parts = {}
    pos = pos + 1
    while true do
      local s = find(text, '[%z\1-\31"\\]', pos)
      if not s then fail('unterminated string', start) end
      if s > pos then parts[#parts + 1] = sub(text, pos, s - 1) end
      local c = byte(text, s)
      if c == 34 then -- "
        return concat(parts), s + 1
      elseif c == 92 then -- backslash
        local e = sub(text, s + 1, s + 1)
        if e == 'u' then
          local cp = hex4(s + 2)
          pos = s + 6
          if cp >= 0xD800 and cp <= 0xDBFF then
            if sub(text, pos, pos + 1) ~= '\\u' then fail('lone high surrogate', s) end
            local lo = hex4(pos + 2)
            if lo < 0xDC00 or lo > 0xDFFF then fail('invalid low surrogate', pos) end
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            pos = pos + 6
          elseif cp >= 0xDC00 and cp <= 0xDFFF then
            fail('lone low surrogate', s)
          end
          parts[#parts + 1] = utf8char(cp)
        elseif simple[e] then
          parts[#parts + 1] = simple[e]
          pos = s + 2
        elseif e == '' then
          fail('unterminated string', start)
        else
          fail('invalid escape', s)
        end
      else
        fail('control character in string', s)
      end
    end
  end

  local function read_number(pos)
    local _, e, int = find(text, '^-?(%d+)', pos)
    if not e then fail('invalid number', pos) end
    if #int > 1 and byte(int) == 48 then fail('leading zero in number', pos) end
    local is_float = false
    if byte(text, e + 1) == 46 then -- .
      local _, fe = find(text, '^%d+', e + 2)
      if not fe then fail('digit expected after decimal point', e + 2) end
      e, is_float = fe, true
    end
    local c = byte(text, e + 1)
    if c == 101 or c == 69 then -- e E
      local _, xe = find(text, '^[+-]?%d+', e + 2)
      if not xe then fail('digit expected in exponent', e + 2) end
      e, is_float = xe, true
    end
    -- Without a fraction or exponent, tonumber gives an integer when it fits, else a float.
    local v = tonumber(sub(text, pos, e))
    if is_float then v = v + 0.0 end
    return v, e + 1
  end

  local read_value

  local function read_array(pos, depth)
    local t, n = {}, 0
    pos = skip(pos + 1)
    if byte(text, pos) == 93 then return t, pos + 1 end -- ]
    while true do
      local v
      v, pos = read_value(pos, depth)
      n = n + 1
      t[n] = v
      pos = skip(pos)
      local c = byte(text, pos)
      if c == 44 then -- ,
        pos = skip(pos + 1)
      elseif c == 93 then
        return t, pos + 1
      elseif c == nil then
        fail('unterminated array', pos)
      else
        fail("',' or ']' expected", pos)
      end
    end
  end

  local function read_object(pos, depth)
    local t = {}
    pos = skip(pos + 1)
    if byte(text, pos) == 125 then return t, pos + 1 end -- }
    while true do
      local c = byte(text, pos)
      if c ~= 34 then
        if c == nil then fail('unterminated object', pos) end
        fail('string key expected', pos)
      end
      local k, v
      k, pos = read_string(pos)
      pos = skip(pos)
      if byte(text, pos) ~= 58 then fail("':' expected", pos) end -- :
      v, pos = read_value(skip(pos + 1), depth)
      t[k] = v
      pos = skip(pos)
      c = byte(text, pos)
      if c == 44 then
        pos = skip(pos + 1)
      elseif c == 125 then
        return t, pos + 1
      elseif c == nil then
        fail('unterminated object', pos)
      else
        fail("',' or '}' expected", pos)
      end
    end
  end

  -- pos is at the first character of the value (whitespace already skipped).
  read_value = function(pos, depth)
    local c = byte(text, pos)
    if c == 123 or c == 91 then -- { [
      if depth >= MAX_DEPTH then fail('nesting deeper than ' .. MAX_DEPTH, pos) end
      if c == 123 then return read_object(pos, depth + 1) end
      return read_array(pos, depth + 1)
    elseif c == 34 then
      return read_string(pos)
    elseif c == 45 or (c and c >= 48 and c <= 57) then -- - 0-9
      return read_number(pos)
    elseif c == 116 then
      if sub(text, pos, pos + 3) == 'true' then return true, pos + 4 end
    elseif c == 102 then
      if sub(text, pos, pos + 4) == 'false' then return false, pos + 5 end
    elseif c == 110 then
      if sub(text, pos, pos + 3) == 'null' then return nil, pos + 4 end
    elseif c == nil then
      fail('unexpected end of input', pos)
    end
    if c == 116 or c == 102 or c == 110 then fail('invalid literal', pos) end
    fail('unexpected character', pos)
  end

  local v, pos = read_value(skip(1), 0)
  pos = skip(pos)
  if pos <= len then fail('trailing garbage', pos) end
  return v
end

return { encode = encode, decode = decode }
