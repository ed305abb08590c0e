-- Statements: function declaration forms (global, local, field, method, nested fields).
function global_fn(x) return "global " .. x end
print(global_fn(1), type(_ENV.global_fn))
global_fn = nil
local function local_fn() return "local" end
print(local_fn())
local ns = {sub = {deeper = {}}}
function ns.f() return "field" end
function ns.sub.g() return "nested field" end
function ns.sub.deeper:m(x) return self == ns.sub.deeper, x end
print(ns.f(), ns.sub.g(), ns.sub.deeper:m(5))
local obj = {v = 10}
function obj:get() return self.v end
function obj.static() return "no self" end
print(obj:get(), obj.get(obj), obj.get({v = 20}), obj.static())
local anon = function(...) return select("#", ...) end
print(anon(1, 2, 3))
local recursive = function(n) return n end
local function recursive(n) if n == 0 then return "base" end return recursive(n - 1) end
print(recursive(3))
local f1 = function() return 1 end
local f2 = function() return 1 end
print(f1 == f2, f1 == f1)
local function defaults(a, b, ...) return a, b, select("#", ...) end
print(defaults())
print(defaults(1, 2, 3, 4))
local function returns_fn() return function() return "inner" end end
print(returns_fn()())
do
  local function hidden() return "hidden" end
  exported = hidden
end
print(exported())
exported = nil
local t = {}
t[1] = function() return "indexed function" end
print(t[1]())
function ns.sub.deeper.chain() return ns end
print(ns.sub.deeper.chain().f())
print(pcall(load("function a.b() end")))
local mt = {}
function mt.__index(t, k) return k .. "?" end
print(setmetatable({}, mt).hello)
