-- `spawn` a looping child and `kill` it.
return function()
  spawn("while true do end", { fuel = 100000, memory = "1M" }):kill()
end
