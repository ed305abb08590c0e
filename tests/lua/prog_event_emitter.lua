-- Program: an event emitter with on/once/off, ordered listeners, varargs forwarding and errors.
local Emitter = {}
Emitter.__index = Emitter
function Emitter.new() return setmetatable({handlers = {}}, Emitter) end
function Emitter:on(ev, fn) local list = self.handlers[ev] or {} self.handlers[ev] = list list[#list + 1] = {fn = fn} return fn end
function Emitter:once(ev, fn) local list = self.handlers[ev] or {} self.handlers[ev] = list list[#list + 1] = {fn = fn, once = true} return fn end
function Emitter:off(ev, fn)
  local list = self.handlers[ev]
  if not list then return false end
  for i, h in ipairs(list) do if h.fn == fn then table.remove(list, i) return true end end
  return false
end
function Emitter:emit(ev, ...)
  local list = self.handlers[ev]
  if not list then return 0 end
  local snapshot = {table.unpack(list)}
  local n, errors = 0, {}
  for _, h in ipairs(snapshot) do
    if h.once then self:off(ev, h.fn) end
    local ok, err = pcall(h.fn, ...)
    if not ok then errors[#errors + 1] = err end
    n = n + 1
  end
  return n, #errors > 0 and table.concat(errors, "; ") or nil
end
local e = Emitter.new()
local log = {}
local function logger(...) log[#log + 1] = table.concat({...}, "+") end
e:on("data", logger)
e:once("data", function(x) log[#log + 1] = "once:" .. x end)
e:on("data", function(x) if x == "bad" then error("bad data", 0) end end)
print(e:emit("data", "a", "b"))
print(e:emit("data", "c"))
print(e:emit("data", "bad"))
print(e:off("data", logger), e:off("data", logger), e:emit("data", "d"))
print(e:emit("nothing"))
print(table.concat(log, " | "))
local counter = 0
local self_removing
self_removing = e:on("tick", function() counter = counter + 1 if counter == 2 then e:off("tick", self_removing) end end)
for _ = 1, 5 do e:emit("tick") end
print("ticks handled", counter)
