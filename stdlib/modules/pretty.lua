-- pretty: a deterministic pretty-printer for any Lua value.
--
--   pretty.format(value [, opts]) -> string
--     opts.indent    spaces per nesting level (default 2)
--     opts.max_depth tables nested deeper than this are shown as {...} (default 10; the
--                    outermost table is at depth 1)
--     opts.width     a table is written on one line when that line fits in this many
--                    columns (default 60)
--
--   Tables are written as Lua constructors. The leading sequence (keys 1, 2, ... up to the
--   first missing one) is written positionally, {1, 2, 3}; the other keys follow in sorted
--   order: numbers (by value), then strings (by bytes), then booleans (false first), then
--   other values (by type name). A string key that is an identifier is written key = value,
--   any other key as ["key"] = value or [1.5] = value. Strings are quoted as by %q, except
--   that a newline is written \n so every string stays on one line. A table that contains
--   itself (directly or not) is shown as <cycle> where it recurs; functions, threads and
--   userdata are shown as <function>, <thread>, <userdata> (never addresses).

local format, rep, find, gsub = string.format, string.rep, string.find, string.gsub
local concat, sort = table.concat, table.sort
local mathtype = math.type

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
           repeat return then true until while]]):gmatch('%a+') do
  keywords[w] = true
end

local function format_number(x)
  if mathtype(x) == 'integer' then return format('%d', x) end
  if x ~= x then return '0/0' end
  if x == math.huge then return 'math.huge' end
  if x == -math.huge then return '-math.huge' end
  local s = format('%.14g', x)
  if tonumber(s) ~= x then s = format('%.17g', x) end
  if not find(s, '[.eEn]') then s = s .. '.0' end
  return s
end

local function format_string(s)
  return (gsub(format('%q', s), '\\\n', '\\n'))
end

local function format_scalar(v)
  local tv = type(v)
  if tv == 'string' then return format_string(v) end
  if tv == 'number' then return format_number(v) end
  if tv == 'nil' or tv == 'boolean' then return tostring(v) end
  return '<' .. tv .. '>'
end

local type_rank = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  local ra, rb = type_rank[ta] or 4, type_rank[tb] or 4
  if ra ~= rb then return ra < rb end
  if ra == 1 or ra == 2 then return a < b end
  if ra == 3 then return (not a) and b end
  if ta ~= tb then return ta < tb end
  return false
end

local function format_key(k)
  if type(k) == 'string' and find(k, '^[%a_][%w_]*$') and not keywords[k] then
    return k .. ' = '
  end
  return '[' .. format_scalar(k) .. '] = '
end

local function pretty_format(value, opts)
  if opts ~= nil and type(opts) ~= 'table' then
    error('pretty.format: options must be a table, got ' .. type(opts), 0)
  end
  opts = opts or {}
  local indent = opts.indent or 2
  local max_depth = opts.max_depth or 10
  local width = opts.width or 60
  if mathtype(indent) ~= 'integer' or indent < 0 then
    error('pretty.format: opts.indent must be a non-negative integer', 0)
  end
  if mathtype(max_depth) ~= 'integer' or max_depth < 0 then
    error('pretty.format: opts.max_depth must be a non-negative integer', 0)
  end
  if mathtype(width) ~= 'integer' then
    error('pretty.format: opts.width must be an integer', 0)
  end

  local active = {} -- tables on the path from the root (cycle detection)

  -- The entries of a table: its leading sequence length and its other keys, sorted.
  local function entries(t)
    local n = 0
    while rawget(t, n + 1) ~= nil do n = n + 1 end
    local keys = {}
    for k in next, t do
      if not (mathtype(k) == 'integer' and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    sort(keys, key_less)
    return n, keys
  end

  -- One-line rendering of v at the given depth, or nil once it would exceed budget columns.
  local function flat(v, depth, budget)
    if type(v) ~= 'table' then
      local s = format_scalar(v)
      if #s > budget then return nil end
      return s
    end
    if active[v] then return #'<cycle>' <= budget and '<cycle>' or nil end
    if depth > max_depth then return #'{...}' <= budget and '{...}' or nil end
    local n, keys = entries(v)
    local parts, used = {}, 2
    active[v] = true
    local function add(prefix, item)
      local s = flat(item, depth + 1, budget - used - #prefix)
      if not s then return false end
      s = prefix .. s
      if #parts > 0 then used = used + 2 end
      used = used + #s
      parts[#parts + 1] = s
      return used <= budget
    end
    local ok = true
    for i = 1, n do
      if not add('', rawget(v, i)) then ok = false break end
    end
    if ok then
      for _, k in ipairs(keys) do
        if not add(format_key(k), rawget(v, k)) then ok = false break end
      end
    end
    active[v] = nil
    if not ok or used > budget then return nil end
    return '{' .. concat(parts, ', ') .. '}'
  end

  -- Rendering of v at depth (outermost table = 1), starting at column col of a line whose
  -- indentation is level * indent.
  local function render(v, depth, level, col)
    local s = flat(v, depth, width - col)
    if s then return s end
    -- Only a table can fail to fit on one line (or a long scalar, which is kept as is).
    if type(v) ~= 'table' then return format_scalar(v) end
    if active[v] then return '<cycle>' end
    if depth > max_depth then return '{...}' end
    local n, keys = entries(v)
    if n == 0 and #keys == 0 then return '{}' end
    local pad = rep(' ', (level + 1) * indent)
    local lines = {}
    active[v] = true
    for i = 1, n do
      lines[#lines + 1] = pad .. render(rawget(v, i), depth + 1, level + 1, #pad)
    end
    for _, k in ipairs(keys) do
      local prefix = format_key(k)
      lines[#lines + 1] = pad .. prefix
        .. render(rawget(v, k), depth + 1, level + 1, #pad + #prefix)
    end
    active[v] = nil
    return '{\n' .. concat(lines, ',\n') .. '\n' .. rep(' ', level * indent) .. '}'
  end

  return render(value, 1, 0, 0)
end

return { format = pretty_format }
