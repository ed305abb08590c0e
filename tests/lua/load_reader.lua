-- load: reader functions returning pieces, nil/empty to stop, errors from readers.
local pieces = {"return ", "1 ", "+ ", "41"}
local i = 0
local f = load(function() i = i + 1 return pieces[i] end)
print(f())
local chars = "return 'split across calls'"
local pos = 0
print(load(function() pos = pos + 1 if pos <= #chars then return chars:sub(pos, pos) end end)())
local once = false
print(load(function() if once then return "" end once = true return "return 'empty stops'" end)())
local function reader_of(t) local k = 0 return function() k = k + 1 return t[k] end end
print(load(reader_of({"local a = 1\n", "local b = 2\n", "return a + b"}))())
print(load(reader_of({"return +"}), "=reader"))
print(load(reader_of({}))())
local ones = 0
print(load(function() ones = ones + 1 if ones <= 2 then return 1 end end))
print(pcall(load, function() return {} end))
print(pcall(load, function() error("reader failed") end))
local named = load(reader_of({"error('from reader chunk')"}), "=readchunk")
print(pcall(named))
local default_name = load(reader_of({"error('x')"}))
print(pcall(default_name))
local calls = 0
local rf = load(function() calls = calls + 1 if calls == 1 then return "return 'counted'" end return nil end)
print(rf(), calls)
local env_reader = load(reader_of({"return v"}), "=er", "t", {v = "env value"})
print(env_reader())
print(load(reader_of({"return", " ", "..."}))(7, 8))
local big = {}
for n = 1, 100 do big[n] = "x" .. n .. " = " .. n .. "\n" end
big[#big + 1] = "return x1 + x100"
local env = {}
print(load(reader_of(big), "=big", "t", env)(), env.x50)
print(load(reader_of({"return 'a", "b'"}))())
print(load(reader_of({"ret", "urn 5"}))())
