-- Base library: setmetatable/getmetatable, __metatable protection, return values.
local t = {}
local mt = {}
print(setmetatable(t, mt) == t, getmetatable(t) == mt)
print(setmetatable(t, nil) == t, getmetatable(t))
print(getmetatable(1), getmetatable(nil), getmetatable(print))
print(getmetatable("x") ~= nil, getmetatable("x").__index == string)
local protected = setmetatable({}, {__metatable = "locked"})
print(getmetatable(protected))
print(pcall(setmetatable, protected, {}))
print(pcall(setmetatable, protected, nil))
local ptable = setmetatable({}, {__metatable = {fake = true}})
print(getmetatable(ptable).fake)
local pfalse = setmetatable({}, {__metatable = false})
print(getmetatable(pfalse))
print(pcall(setmetatable, pfalse, {}))
print(pcall(setmetatable, {}, 5))
print(pcall(setmetatable, 5, {}))
print(pcall(setmetatable, {}))
print(pcall(getmetatable))
local shared = {__index = {v = "shared"}}
local a, b = setmetatable({}, shared), setmetatable({}, shared)
print(a.v, b.v, getmetatable(a) == getmetatable(b))
local self_mt = {}
self_mt.__index = self_mt
self_mt.hello = "self"
setmetatable(self_mt, self_mt)
print(self_mt.hello, pcall(function() return self_mt.missing end))
print(getmetatable(getmetatable("")) == nil)
local m2 = {}
setmetatable(m2, {__index = function(_, k) return k end})
setmetatable(m2, {__index = function(_, k) return k .. "2" end})
print(m2.x)
local strmeta = getmetatable("")
print(pcall(setmetatable, "x", {}))
local n = setmetatable({}, {__metatable = nil, __index = {k = 1}})
print(n.k, getmetatable(n).__index.k)
