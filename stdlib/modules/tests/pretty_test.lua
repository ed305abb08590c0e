-- Exercises stdlib/modules/pretty.lua. Run through regen.sh (lua5.4) or the bundled_modules
-- Rust test (Tessera): both prepend `local pretty = (function() <pretty.lua> end)()`.

local function show(label, value, opts)
  print('== ' .. label)
  print(pretty.format(value, opts))
end

show('nil', nil)
show('true', true)
show('integer', -42)
show('float', 1.5)
show('float whole', 3.0)
show('float tenth', 0.1)
show('float long', 1 / 3)
show('float big', 2 ^ 63)
show('inf', math.huge)
show('-inf', -math.huge)
show('nan', 0 / 0)
show('string', 'hello "world"')
show('string escapes', 'a\nb\tc\0d\r\\e\127\200')
show('function', print)
show('coroutine', coroutine.create(function() end))
show('empty', {})
show('sequence', { 1, 2, 3 })
show('strings', { 'a', 'b' })
show('identifiers', { alpha = 1, beta = 'two', _under = true, x9 = false })
show('other keys', { ['a b'] = 1, ['end'] = 2, ['9x'] = 3, [''] = 4, ['while'] = 5 })
show('number keys', { [1.5] = 'x', [-1] = 'neg', [0] = 'zero', [100] = 'hundred' })
show('mixed order', { 'first', 'second', z = 1, [3.5] = 2, a = 3, [true] = 4, [false] = 5 })
show('sequence with extras', { 10, 20, 30, n = 3 })
show('holes', { 1, nil, 3 })
show('table key', { [{}] = 1 })
show('function value', { f = print, g = function() end })
show('nested short', { a = { b = { c = {} } } })
show('nested long', {
  name = 'tessera', version = { 0, 1, 0 },
  modules = { json = { 'encode', 'decode' }, pretty = { 'format' } },
  description = 'a capability-secure VM running Lua 5.4 programs',
})
local long = {}
for i = 1, 30 do long[i] = i * i end
show('long sequence', long)
show('long string', { s = string.rep('abcdefghij', 8) })

local cyc = { name = 'cyc' }
cyc.self = cyc
cyc.child = { parent = cyc, list = { cyc } }
show('cycle', cyc)
local shared = { 1, 2 }
show('shared (not a cycle)', { a = shared, b = shared })

local deep = {}
local cur = deep
for i = 1, 15 do cur.next = { level = i }; cur = cur.next end
show('deep default', deep)
show('deep max_depth 3', deep, { max_depth = 3 })
show('max_depth 0', { 1 }, { max_depth = 0 })
show('indent 4', { list = long, x = 1 }, { indent = 4 })
show('indent 0', { list = long }, { indent = 0 })
show('width 10', { 1, 2, 3, { 4, 5 } }, { width = 10 })

local function try(label, ...)
  print('== ' .. label)
  print(pcall(pretty.format, ...))
end
try('bad opts', 1, 'x')
try('bad indent', 1, { indent = -1 })
try('bad max_depth', 1, { max_depth = 1.5 })

-- Determinism: the same table built in different insertion orders prints the same.
local a, b = {}, {}
local keys = { 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k10' }
for i = 1, #keys do a[keys[i]] = i end
for i = #keys, 1, -1 do b[keys[i]] = i end
print('== deterministic', pretty.format(a) == pretty.format(b))
print(pretty.format(a))
