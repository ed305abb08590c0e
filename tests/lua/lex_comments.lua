-- Lexical: short comments, long comments with levels, comments in odd places.
print("start") -- trailing comment
--[[ a long
comment spanning lines ]] print("after long comment")
--[==[ level two comment with ]] and ]=] inside
still a comment ]==] print("after level-2 comment")
--[=[]=] print("empty long comment")
---[[ this is a short comment, so the next line runs
print("not commented")
--]]
local x = 1 --[[ inline ]] + 2
print(x)
local t = { --[[ in constructor ]] 10, -- short
  20 --[[ before comma ]] , 30 }
print(#t, t[1], t[2], t[3])
--[[
print("should not run")
--]]
print(--[[ argument comment ]] "arg")
-- a comment with a [[ long bracket opener is still short
print("short comment with bracket")
--[==[
]] ]=] ]===]
]==]
print("mismatched closers ignored")
local s = "-- not a comment"
print(s)
local l = [[--[[ not a comment either]]
print(l)
print(1 --[[c]] + --[[c]] 2)
