-- Strings: upper, lower, reverse, len, including non-letters and embedded zeros.
print(string.upper("hello World 123"), string.lower("HELLO World 123"))
print(("MiXeD"):upper(), ("MiXeD"):lower())
print(string.reverse("abc"), string.reverse(""), string.reverse("a"))
print(("racecar"):reverse() == "racecar", ("hello"):reverse())
print(string.len("abc"), string.len(""), string.len("\0\0"))
print(#string.upper("a\0b"), string.upper("a\0b"):byte(1, -1))
print(string.reverse("a\0b"):byte(1, -1))
print(string.upper(123), string.lower(1.5), string.len(100))
print(pcall(string.upper))
print(pcall(string.upper, {}))
print(string.upper("é"), #string.upper("é"))
print(("abc"):upper():lower():reverse())
local s = "The Quick Brown Fox"
print(s:upper(), s:lower(), s:len())
local t = {}
for w in s:gmatch("%a+") do t[#t + 1] = w:sub(1, 1):lower() .. w:sub(2):upper() end
print(table.concat(t, " "))
print(string.reverse(string.rep("ab", 5)))
print(("12345"):reverse() + 0)
print(string.len(string.rep("x", 1000)))
print(("_-=+"):upper(), ("[]{}"):lower())
print(string.upper(true and "yes" or "no"))
