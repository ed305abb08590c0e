-- Exercises stdlib/modules/json.lua. Run through regen.sh (lua5.4) or the bundled_modules
-- Rust test (Tessera): both prepend `local json = (function() <json.lua> end)()`.

local function show(label, ...)
  local parts = { label }
  for i = 1, select('#', ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  print(table.concat(parts, '\t'))
end

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then show(label, 'ok', err) else show(label, 'error', err) end
end

print('-- encode scalars')
show('nil', json.encode(nil))
show('true', json.encode(true))
show('false', json.encode(false))
show('int', json.encode(42), json.encode(-7), json.encode(0))
show('maxint', json.encode(math.maxinteger), json.encode(math.mininteger))
show('float', json.encode(1.5), json.encode(0.1), json.encode(-2.0), json.encode(1e300))
show('negzero', json.encode(-0.0))
try('inf', json.encode, math.huge)
try('-inf', json.encode, -math.huge)
try('nan', json.encode, 0 / 0)
try('nan in table', json.encode, { a = { 1, 0 / 0 } })

print('-- encode strings')
show('plain', json.encode('hello'))
show('escapes', json.encode('q" bs\\ b\b f\f n\n r\r t\t'))
local ctl = {}
for i = 0, 31 do ctl[#ctl + 1] = string.char(i) end
show('controls', json.encode(table.concat(ctl)))
show('del', json.encode('\127'))
show('utf8', json.encode('caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'))
show('high bytes', json.encode('\x80\xff'))
show('slash', json.encode('a/b'))

print('-- encode tables')
show('empty', json.encode({}))
show('empty object', json.encode({}, { empty_object = true }))
show('array', json.encode({ 1, 2, 3, 'x', true }))
show('nested', json.encode({ { 1, { 2 } }, {} }))
show('object sorted', json.encode({ zeta = 1, alpha = 2, mid = { b = 1, a = 2 }, [''] = 0 }))
show('mixed keys', pcall(json.encode, { 1, 2, x = 3 }))
show('holes', pcall(json.encode, { 1, nil, 3 }))
show('sparse', pcall(json.encode, { [2] = 'b' }))
show('float key', pcall(json.encode, { [1.5] = 1 }))
show('bool key', pcall(json.encode, { a = { [true] = 1 } }))
show('function', pcall(json.encode, { f = print }))
show('function root', pcall(json.encode, print))
local cyc = { name = 'root', list = { 1, 2 } }
cyc.list[3] = cyc
show('cycle', pcall(json.encode, cyc))
local self = {}
self[1] = self
show('self cycle', pcall(json.encode, self))
local shared = { 1 }
show('shared (not a cycle)', json.encode({ a = shared, b = shared }))
show('bad opts', pcall(json.encode, 1, 'x'))
show('bad indent', pcall(json.encode, 1, { indent = -1 }))

print('-- pretty')
print(json.encode({ name = 'x', list = { 1, 2, { deep = true } }, empty = {}, obj = {} },
  { indent = 2 }))
print(json.encode({ a = { b = { 1 } } }, { indent = 4 }))
print(json.encode({ 1, 2 }, { indent = 0 }))
print(json.encode('scalar', { indent = 2 }))

print('-- decode scalars')
local function dec(label, text)
  local ok, v = pcall(json.decode, text)
  if ok then
    show(label, 'ok', math.type(v) or type(v), v)
  else
    show(label, 'error', v)
  end
end
dec('null', 'null')
dec('true', ' true ')
dec('false', '\n\t\rfalse')
dec('int', '123')
dec('neg int', '-45')
dec('zero', '0')
dec('neg zero', '-0')
dec('float', '3.25')
dec('exp', '1e3')
dec('exp neg', '2.5E-3')
dec('exp plus', '1e+2')
dec('maxint', '9223372036854775807')
dec('minint', '-9223372036854775808')
dec('big int', '9223372036854775808')
dec('huge int', '123456789012345678901234567890')
dec('huge exp', '1e400')
dec('string', '"hello"')
dec('escapes', [["q\" bs\\ sl\/ b\b f\f n\n r\r t\t"]])
dec('unicode', [["\u0041\u00e9\u20AC"]])
dec('surrogates', [["\ud83d\ude00"]])
dec('nul', [["a\u0000b"]])
dec('raw utf8', '"caf\xc3\xa9"')

print('-- decode structures')
local t = json.decode('{"a": [1, 2, {"b": null, "c": "d"}], "e": {}, "f": []}')
show('a', #t.a, t.a[1], t.a[2], t.a[3].b, t.a[3].c)
show('e f', type(t.e), next(t.e), type(t.f), #t.f)
local holes = json.decode('[1, null, 3]')
show('nulls in array', holes[1], holes[2], holes[3])
local dup = json.decode('{"k": 1, "k": 2}')
show('duplicate key', dup.k)
show('ws', json.encode(json.decode(' \n [ 1 , { "x" : [ ] } ] \n ')))

print('-- round trips')
local samples = {
  '[]', '{}', '[1,2,3]', '{"a":1,"b":[true,false],"c":"x\\ny"}',
  '[0.5,-1.25,1e+100,2.0]', '"\\u0001\\u001f\\"\\\\"', '[[[[[]]]]]',
  '{"nested":{"deeper":{"deepest":[1,{"k":"v"}]}}}',
}
for _, s in ipairs(samples) do
  local once = json.encode(json.decode(s))
  local twice = json.encode(json.decode(once))
  show('rt', s, once, once == twice)
end
for _, x in ipairs({ 0.1, 1 / 3, 1e-300, 123456.789, -0.0, 2 ^ 53, 2 ^ 63, math.pi }) do
  local back = json.decode(json.encode(x))
  show('float rt', json.encode(x), back == x, math.type(back))
end
for _, s in ipairs({ '', 'é', '\0', '\u{10FFFF}', 'a\tb\r\n', string.rep('xy', 50) }) do
  show('string rt', #s, json.decode(json.encode(s)) == s)
end

print('-- decode errors')
local bad = {
  '', '   ', 'nul', 'tru', 'falsey', 'x', '[1,]', '[1 2]', '[', '[1', '{', '{"a"', '{"a":',
  '{"a":1,}', '{"a" 1}', '{a:1}', '{1:2}', '"abc', '"abc\\', '"\\x"', '"\\u12"',
  '"\\u12g4"', '"\\ud800"', '"\\ud800x"', '"\\ud800\\u0041"', '"\\udc00"', '"a\nb"',
  '"tab\there"', '01', '-', '-a', '1.', '1.e5', '.5', '1e', '1e+', '+1', '1 2', '[] x',
  '{}}', 'NaN', 'Infinity', '[1,2]]', '\239\187\191[]',
}
for _, s in ipairs(bad) do
  local ok, err = pcall(json.decode, s)
  show('bad', string.format('%q', s), ok, err)
end
show('non-string', pcall(json.decode, 42))

print('-- depth')
local deep_ok = string.rep('[', 200) .. string.rep(']', 200)
local v = json.decode(deep_ok)
local d = 0
while type(v) == 'table' do d = d + 1; v = v[1] end
show('200 deep', d)
show('201 deep', pcall(json.decode, string.rep('[', 201) .. string.rep(']', 201)))
show('201 objects', pcall(json.decode, string.rep('{"a":', 201) .. '1' .. string.rep('}', 201)))
show('deep unterminated', pcall(json.decode, string.rep('[', 1000)))
