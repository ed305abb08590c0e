local c = spawn("print(1)", {caps = {console = caps.console}}) c:wait() print(2)
