-- rawset with a nil or NaN key: the error comes from a native, so it has no position.
print(pcall(rawset, {}, nil, 1))
print(pcall(rawset, {}, 0/0, 1))
print(pcall(function() rawset({}, nil, 1) end))
print(pcall(function() local t = {} t[nil] = 1 end))
print(pcall(function() local t = {} t[0/0] = 1 end))
print(select('#', rawset({}, 1, nil)))
