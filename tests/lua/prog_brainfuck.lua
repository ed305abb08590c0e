-- Program: a Brainfuck interpreter with bracket matching, running hello world and an adder.
local function run(code, input)
  local tape, ptr, pc, out, inpos = {}, 1, 1, {}, 1
  local jump, stack = {}, {}
  for i = 1, #code do
    local c = code:sub(i, i)
    if c == "[" then stack[#stack + 1] = i
    elseif c == "]" then
      local j = table.remove(stack)
      if not j then error("unmatched ] at " .. i, 0) end
      jump[i], jump[j] = j, i
    end
  end
  if #stack > 0 then error("unmatched [ at " .. stack[#stack], 0) end
  local steps = 0
  while pc <= #code do
    local c = code:byte(pc)
    local v = tape[ptr] or 0
    if c == 43 then tape[ptr] = (v + 1) % 256
    elseif c == 45 then tape[ptr] = (v - 1) % 256
    elseif c == 62 then ptr = ptr + 1
    elseif c == 60 then ptr = ptr - 1
    elseif c == 46 then out[#out + 1] = string.char(v)
    elseif c == 44 then tape[ptr] = input:byte(inpos) or 0 inpos = inpos + 1
    elseif c == 91 then if v == 0 then pc = jump[pc] end
    elseif c == 93 then if v ~= 0 then pc = jump[pc] end
    end
    pc = pc + 1
    steps = steps + 1
  end
  return table.concat(out), steps
end
local hello = "++++++++[>++++[>++>+++>+++>+<<<<-]>+>+>->>+[<]<-]>>.>---.+++++++..+++.>>.<-.<.+++.------.--------.>>+.>++."
print(run(hello, ""))
print(run(",>,[<+>-]<------------------------------------------------.", "34"))
print(run(",[.,]", "echo"))
print(pcall(run, "[[]", ""))
print(pcall(run, "]", ""))
