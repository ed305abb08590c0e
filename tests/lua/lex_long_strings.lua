-- Lexical: long string literals with levels, leading newline skipping, embedded brackets.
local a = [[hello]]
print(a, #a)
local b = [[
first newline is skipped]]
print(b, #b)
local c = [==[
contains ]] and ]=] and [[ too]==]
print(c)
local d = [[line1
line2
line3]]
print(d)
print(#d)
local e = [[]]
print("empty:" .. e .. ":", #e)
local f = [=[
]=]
print("only newline skipped:", #f)
local g = [[

two newlines, first skipped]]
print(#g, g:sub(1, 1) == "\n")
local h = [[no \n escapes \t here]]
print(h, #h)
local i = [===[a]===] .. [[b]] .. [=[c]=]
print(i)
print([[
]] == "")
local j = [[tab	inside]]
print(j:byte(4))
print(type([[x]]))
print(([[abc]]):upper())
local k = [==[]]]==]
print(k, #k)
local m = [[a
b]]
print(m:byte(1, -1))
print(#[[
x
]])
