local src = "local name = ... for i = 1, 8 do local s = 0 for j = 1, 90 do s = s + j end print(name, i, s) end"
local a = spawn("print('a start') " .. src:gsub("%.%.%.", "'a'"), {caps = {console = caps.console}})
local b = spawn("print('b start') " .. src:gsub("%.%.%.", "'b'"), {caps = {console = caps.console}})
a:wait() b:wait()
print("both done")
