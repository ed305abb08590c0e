-- Environment: Tessera has no io, os, require, debug, package, dofile, loadfile or string.dump.
-- (regen.sh removes them from lua5.4 before running each script, so the reference agrees.)
print(io, os, require, debug, package, dofile, loadfile, string.dump)
print(pcall(function() return io.write("x") end))
print(pcall(function() return os.time() end))
print(pcall(function() return require("x") end))
print(pcall(function() return debug.traceback() end))
print(pcall(function() return string.dump(print) end))
print(pcall(function() return dofile("f.lua") end))
print(pcall(function() return loadfile("f.lua") end))
print(type(load), type(loadstring), type(unpack), type(setfenv), type(getfenv))
print(type(math.pow), type(table.getn), type(string.gfind))
print(type(coroutine.running), type(coroutine.close), type(coroutine.isyieldable))
print(type(table.pack), type(table.unpack), type(utf8.char))
local missing = 0
for _, name in ipairs({"io", "os", "debug", "package", "require", "dofile", "loadfile"}) do
  if _G[name] == nil then missing = missing + 1 end
end
print("missing", missing)
print(_G.unpack, _G.bit32, _G.jit)
print(type(string.format), type(string.gsub), type(string.len))
print(type(math.floor), type(math.huge), type(math.pi))
print(rawget(string, "dump"), rawget(_G, "io"))
local ok, e = pcall(function() local f = io.open end)
print(ok, e)
