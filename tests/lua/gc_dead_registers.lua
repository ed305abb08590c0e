-- A temporary left in a register the program no longer uses does not keep garbage alive: at
-- a collection after NEWTABLE, CONCAT, CLOSURE or a call, the registers above the result are
-- dead, as in Lua. (gc.lua's "repeat u = {} until finish" never ended before.)
local finish = false
local u = setmetatable({}, {__gc = function () finish = true end})
u = nil
local n = 0
repeat n = n + 1; u = {} until finish or n >= 2e6
print("after NEWTABLE:", finish)

finish = false
u = setmetatable({}, {__gc = function () finish = true end})
u = nil
n = 0
local s = "x"
repeat n = n + 1; s = "x" .. n until finish or n >= 2e6
print("after CONCAT:", finish)

finish = false
u = setmetatable({}, {__gc = function () finish = true end})
u = nil
n = 0
repeat n = n + 1; u = function () return n end until finish or n >= 2e6
print("after CLOSURE:", finish)

-- weak tables see the same liveness
local weak = setmetatable({}, {__mode = "v"})
weak[1] = setmetatable({}, {})
local k = 0
repeat k = k + 1; u = {} until weak[1] == nil or k >= 2e6
print("weak value cleared:", weak[1] == nil)
