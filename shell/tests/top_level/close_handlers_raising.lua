local a <close> = setmetatable({}, {__close = function(_, e) print("a", e) end})
local function f()
  local b <close> = setmetatable({}, {__close = function(_, e) print("b", e) end})
  local c <close> = setmetatable({}, {__close = function(_, e) print("c", e); error("from c", 0) end})
  error("boom", 0)
end
f()
