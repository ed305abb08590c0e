-- Errors: error with non-string values (tables, numbers, nil, booleans) and position info.
print(pcall(error, "plain"))
print(pcall(error, "with level 1", 1))
print(pcall(function() error("in function") end))
print(pcall(function() error("level 0", 0) end))
print(pcall(function() error(42) end))
print(pcall(function() error(4.5) end))
print(pcall(function() error(true) end))
print(pcall(function() error(nil) end))
print(pcall(function() error() end))
print(select("#", pcall(function() error() end)))
local e = {code = 404, msg = "not found"}
local ok, got = pcall(function() error(e) end)
print(ok, got == e, got.code, got.msg)
local ok2, got2 = pcall(error, setmetatable({}, {__tostring = function() return "custom error" end}))
print(ok2, tostring(got2))
print(pcall(function() error("msg", 3) end))
print(pcall(function() error(42, 2) end))
print(pcall(function() local t = {} error(t, 1) end) == false)
local function thrower(v) error(v) end
local values = {"s", 1, 2.5, false}
for _, v in ipairs(values) do
  local ok3, err3 = pcall(thrower, v)
  print(ok3, type(err3), err3)
end
print(pcall(function() error("multi\nline") end))
print(pcall(function() error("") end))
print(pcall(function() error("x" .. 1, 1) end))
print(pcall(function() local t = setmetatable({}, {__index = function() error("from index") end}) return t.x end))
print(pcall(function() local t = setmetatable({}, {__index = function() error("idx level 2", 2) end}) return t.x end))
print(pcall(error))
