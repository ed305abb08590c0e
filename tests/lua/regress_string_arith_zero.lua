-- Integer division or modulo by zero with a string operand: the reference raises the error
-- from the string metamethod (a C function), so the message carries no position.
print(pcall(function() return 7 % '0' end))
print(pcall(function() return '7' // 0 end))
print(pcall(function() local a, b = '2', 0 return a // b end))
print(pcall(function() local a, b = 2, '-0' return a % b end))
-- Without strings the position is there.
print(pcall(function() local a, b = 2, 0 return a % b end))
print(pcall(function() return '7' // 0.0, '7' % 0.0 end))
