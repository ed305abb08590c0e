-- Garbage collection: weak tables (__mode "k", "v", "kv") after a full collectgarbage().
local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
local weakk = setmetatable({}, {__mode = "k"})
local kept = {}
weakk[kept] = "kept"
weakk[{}] = "collectable"
weakk["strkey"] = {}
weakk[1] = "number key"
collectgarbage()
print("weak keys", count(weakk), weakk[kept], weakk.strkey ~= nil, weakk[1])
local weakv = setmetatable({}, {__mode = "v"})
local keepv = {}
weakv.a = keepv
weakv.b = {}
weakv.c = "string value"
weakv.d = 42
weakv[1] = function() end
collectgarbage()
print("weak values", count(weakv), weakv.a == keepv, weakv.b, weakv.c, weakv.d, weakv[1])
local weakkv = setmetatable({}, {__mode = "kv"})
local k1, v1 = {}, {}
weakkv[k1] = v1
weakkv[{}] = v1
weakkv[k1] = v1
weakkv.x = {}
weakkv.y = "s"
collectgarbage()
print("weak kv", count(weakkv), weakkv[k1] == v1, weakkv.x, weakkv.y)
local cache = setmetatable({}, {__mode = "v"})
local function get(n) local v = cache[n] if not v then v = {n = n} cache[n] = v end return v end
local hold = get(1)
get(2) get(3)
collectgarbage()
print("cache", count(cache), cache[1] == hold)
local strong = {}
strong[{}] = 1
collectgarbage()
print("strong table keeps", count(strong))
local wk = setmetatable({}, {__mode = "k"})
do local tmp = {} wk[tmp] = true end
collectgarbage()
print("after scope", count(wk))
local mode_mt = {__mode = "v"}
local late = {}
late[1] = {}
setmetatable(late, mode_mt)
collectgarbage()
print("mode set later", count(late))
local nested = setmetatable({}, {__mode = "k"})
local key = {}
nested[key] = {ref = key}
collectgarbage()
print("value references key", count(nested))
