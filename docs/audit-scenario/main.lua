-- The audit scenario of the README and docs/audit-scenario.png: import a library with an
-- attenuated dir key and a fuel budget, call it, then revoke the key and see the call fail.
--
--   mkdir -p data/notes
--   tessera run --audit trail.log --dir lib=docs/audit-scenario/lib --dir data=data:rwcdl \
--     docs/audit-scenario/main.lua
--   tessera audit trail.log --dot | dot -Tpng -o trail.png

-- A read-write view of data/notes only, which we can revoke.
local notes_dir, revoke = revocable(caps.data:sub("notes", "rwcl"))
local notes = import("notes", {name = "notes", caps = {notes = notes_dir}, fuel = 100000})

print("notes kept:", notes.add("hello.txt", "hi"))
revoke()
print(pcall(notes.add, "again.txt", "no"))
