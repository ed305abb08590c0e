-- Base library: collectgarbage options and the types/values of their results.
print(collectgarbage())
print(collectgarbage("collect"))
print(type(collectgarbage("count")))
print(collectgarbage("count") > 0)
print(type(collectgarbage("step")))
print(collectgarbage("isrunning"))
collectgarbage("stop")
print(collectgarbage("isrunning"))
collectgarbage("restart")
print(collectgarbage("isrunning"))
print(pcall(collectgarbage, "bogus"))
print(pcall(collectgarbage, 42))
local garbage = {}
for i = 1, 1000 do garbage[i] = {i} end
garbage = nil
print(collectgarbage("collect"))
print(type(collectgarbage("count")), math.type(collectgarbage("count")))
print(collectgarbage("incremental"))
print(collectgarbage("generational"))
print(collectgarbage("incremental"))
print(collectgarbage("incremental"))
print(type(collectgarbage("step", 0)))
print(select("#", collectgarbage("collect")))
print(select("#", collectgarbage("count")))
for i = 1, 3 do collectgarbage() end
print("repeated collects ok")
