-- Errors: error levels 1, 2, 3 and 0 blame different call sites.
local function lvl(n) error("level " .. n, n) end
local function caller(n) lvl(n) end
print(pcall(caller, 1))
print(pcall(caller, 2))
print(pcall(caller, 3))
print(pcall(caller, 0))
local function check_arg(x)
  if type(x) ~= "number" then error("expected number, got " .. type(x), 2) end
  return x
end
local function user()
  return check_arg("oops")
end
print(pcall(user))
local function deep1() error("deep", 1) end
local function deep2() deep1() end
local function deep3() deep2() end
print(pcall(deep3))
local function blame_caller_of_caller() error("blamed", 3) end
local function middle() blame_caller_of_caller() end
local function top()
  middle()
end
print(pcall(top))
print(pcall(function() error("level 2 from pcall'd fn", 2) end))
print(pcall(function() error("level 50", 50) end))
local function assert_positive(n) if n <= 0 then error("must be positive", 2) end return n end
local results = {}
for _, v in ipairs({5, -1}) do
  local ok, e = pcall(function() return assert_positive(v) end)
  results[#results + 1] = tostring(ok) .. ":" .. tostring(e)
end
print(table.concat(results, " | "))
local function tail_blame() return error("tail level 2", 2) end
print(pcall(function()
  tail_blame()
end))
print(pcall(function() local x = nil; error("level 1 here") end))
