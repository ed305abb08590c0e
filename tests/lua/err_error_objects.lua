-- Errors: error objects (tables with __tostring, fields), rethrowing, and identity preservation.
local Err = {}
Err.__index = Err
Err.__tostring = function(e) return "Err(" .. e.code .. "): " .. e.msg end
local function throw(code, msg) error(setmetatable({code = code, msg = msg}, Err)) end
local ok, e = pcall(throw, 404, "not found")
print(ok, getmetatable(e) == Err, e.code, tostring(e))
local ok2, e2 = pcall(function() local ok3, inner = pcall(throw, 500, "inner") error(inner) end)
print(ok2, tostring(e2), e2.code)
local original = {}
local _, same = pcall(function() local _, x = pcall(error, original) error(x) end)
print(same == original)
local function try(f, catch) local r = table.pack(pcall(f)) if r[1] then return table.unpack(r, 2, r.n) end return catch(r[2]) end
print(try(function() return "no error", 2 end, function() return "caught" end))
print(try(function() throw(1, "x") end, function(err) return "caught " .. tostring(err) end))
print(try(function() error("string error", 0) end, function(err) return "caught " .. err end))
local wrapped = setmetatable({}, {__tostring = function() return "wrapped error" end})
print(select(2, pcall(error, wrapped)) == wrapped)
local co = coroutine.create(function() throw(7, "in coroutine") end)
local okc, ec = coroutine.resume(co)
print(okc, tostring(ec), ec.code)
print(select(2, xpcall(throw, function(err) return "handled " .. tostring(err) end, 9, "via xpcall")))
local numerr = select(2, pcall(error, 3.5))
print(numerr, math.type(numerr))
local nested = select(2, pcall(function() error({inner = {deep = "value"}}) end))
print(nested.inner.deep)
local function finally(f, cleanup) local r = table.pack(pcall(f)) cleanup() if not r[1] then error(r[2], 0) end return table.unpack(r, 2, r.n) end
print(pcall(finally, function() error("body failed", 0) end, function() print("cleanup ran") end))
print(pcall(finally, function() return "body ok" end, function() print("cleanup ran again") end))
