-- Finalizers run one at a time: a finalizer that allocates does not start the next one above
-- itself (which, with many pending, would overflow the stack).
local ran, deepest, depth = 0, 0, 0
for i = 1, 3000 do
  setmetatable({i}, {__gc = function(o)
    depth = depth + 1
    if depth > deepest then deepest = depth end
    local garbage = {}
    for j = 1, 20 do garbage[j] = {j} end
    ran = ran + 1
    depth = depth - 1
  end})
end
collectgarbage()
collectgarbage()
print(deepest, ran > 0)
