-- string.rep past lstrlib's MAXSIZE (INT_MAX bytes) fails before allocating, with the
-- reference's message.
print(pcall(string.rep, 'x', 2^31))
print(pcall(string.rep, 'ab', 2^30))
print(pcall(string.rep, 'x', 2^30, 'x'))
print(pcall(string.rep, 'x', math.maxinteger))
print(pcall(function() return ('x'):rep(1e10) end))
print(#string.rep('ab', 3, ', '))
