-- `#` on tables with holes answers as lua5.4 does: from Lua 5.4's border hint (`alimit`),
-- which `#` itself and keyed reads and writes of the array part move.
local function show(label, t) print(label, #t) end

-- A full array, one hole made, then a key past the end.
local out = {}
for n = 1, 24 do
  for h = 1, n do
    local t = {}
    for i = 1, n do t[i] = i end
    local a = #t
    t[h] = nil
    local b = #t
    t[n + 1] = 1
    out[#out + 1] = a .. "," .. b .. "," .. #t
  end
end
print(table.concat(out, " "))

-- The same holes without a first `#`: the hint is where the last resize left it.
out = {}
for n = 1, 24 do
  for h = 1, n do
    local t = {}
    for i = 1, n do t[i] = i end
    t[h] = nil
    out[#out + 1] = #t
  end
end
print(table.concat(out, " "))

-- A read past the hint moves it ("probably '#t' is here now").
local t = {}
for i = 1, 8 do t[i] = i end
print(#t)             -- 8
t[8] = nil
print(#t)             -- 7: the hint moves to 7
t[5] = nil
print(#t, t[6])       -- the hint still says 7; reading t[6] leaves it
local _ = t[7]
show("after reading t[7]", t)
t[7] = nil
show("t[7] removed", t)
local _ = rawget(t, 6)
show("after rawget(t, 6)", t)

-- Appending and popping, as `t[#t + 1] = v` and `t[#t] = nil` do.
t = {}
for i = 1, 100 do t[#t + 1] = i end
for i = 1, 30 do t[#t] = nil end
show("appended 100, popped 30", t)
for i = 1, 100, 7 do t[i] = nil end
show("then holes every 7", t)
for i = 1, 10 do table.insert(t, i) end
show("table.insert 10 more", t)
for i = 1, 5 do table.remove(t) end
show("table.remove 5", t)

-- Constructors: SETLIST writes leave the hint where the constructor's resize put it.
local u = {1, 2, nil, 4}
show("{1, 2, nil, 4}", u)
u = {nil, nil, 3}
show("{nil, nil, 3}", u)
u = {1, nil, 3, nil, 5, nil, 7, nil}
show("{1, nil, 3, nil, 5, nil, 7, nil}", u)
u = {table.unpack({1, 2, nil, 4, nil, 6}, 1, 6)}
show("unpack with holes", u)
for i = 1, 6 do local _ = u[i] end
show("after reading each", u)
