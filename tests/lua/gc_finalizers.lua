-- Garbage collection: __gc finalizers run by collectgarbage(), sorted names, marking after setmetatable.
local collected = {}
local function make(name) return setmetatable({name = name}, {__gc = function(o) collected[#collected + 1] = o.name end}) end
do
  make("a") make("b") make("c")
end
collectgarbage()
collectgarbage()
table.sort(collected)
print(table.concat(collected, " "))
collected = {}
local keep = make("kept")
make("dropped")
collectgarbage()
collectgarbage()
print(table.concat(collected, " "), keep.name)
collected = {}
local mt = {}
local late = setmetatable({}, mt)
mt.__gc = function() collected[#collected + 1] = "late" end
late = nil
collectgarbage()
collectgarbage()
print("gc added after setmetatable", #collected)
collected = {}
local nonfunc = setmetatable({}, {__gc = true})
nonfunc = nil
collectgarbage()
print("non-function __gc ignored", #collected)
local log = {}
for i = 1, 5 do setmetatable({}, {__gc = function() log[#log + 1] = i end}) end
collectgarbage()
collectgarbage()
table.sort(log)
print(table.concat(log, ","))
local errlog = {}
setmetatable({}, {__gc = function() errlog[#errlog + 1] = "ran" end})
collectgarbage()
print(#errlog)
local order = {}
local a = setmetatable({}, {__gc = function() order[#order + 1] = "first" end})
local b = setmetatable({}, {__gc = function() order[#order + 1] = "second" end})
a, b = nil, nil
collectgarbage()
print(#order)
