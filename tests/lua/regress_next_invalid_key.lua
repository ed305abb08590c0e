-- next with a key that is not in the table: the error comes from a native, without position.
print(pcall(next, {}, 'nokey'))
print(pcall(function() return next({a = 1}, 'b') end))
print(pcall(function() local t = {1, 2} for k in pairs(t) do t[k] = nil t.new = 1 end end) ~= nil)
print(xpcall(function() next({}, 1.5) end, function(m) return 'H:' .. m end))
print(next({}, nil), next({5}))
