-- Lexical/syntax: empty statements, semicolons, whitespace and layout freedom.
;;; print("after semicolons");
local a = 1; local b = 2;; print(a + b);
do ; end
if true then ; end
for i = 1, 2 do ; ; end
local function f() ; return 1; end
print(f())
print(load("return;") ~= nil)
print(load(";;return 5;")())
local x
=
10
print(x)
local y = 1 + 2 *
3
print(y)
print(
  "multi",
  "line",
  "call"
)
local s = "a" .. 
  "b"
print(s)
local t = {1;2;3,4;}
print(#t, t[4])
	print("tab indented")
local z = (function() return 7 end)()
print(z)
print(load("return 1 ;; ") )
print(select("#", load("return 1;;")))
