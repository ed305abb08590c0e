-- `spawn` a child and drop its key at once (it must be reaped).
return function()
  spawn("return 1", { fuel = 100000, memory = "1M" })
end
