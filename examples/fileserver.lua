-- A tiny static file server and its client, two processes on a loopback port.
--
-- The server holds exactly two keys: `site`, a read-only dir key on examples/site, and `net`,
-- a net key that may only listen on one loopback port. The client holds a key that may only
-- connect to that port. Asking for a file outside the site (`/../README.md`) or through an
-- encoded `..` gets a 403 from the server: the dir key refuses the path, whatever the server's
-- code does with it.
--
--   tessera run --dir site=examples/site:rl --net web=127.0.0.1:8088:connect+listen \
--       examples/fileserver.lua 8088

local port = tonumber(arg[1]) or 8088
local paths = {"/", "/docs/keys.txt", "/missing.html", "/../README.md", "/docs/%2e%2e/%2e%2e/README.md"}

-- The server listens as soon as it starts, and answers requests when asked to serve.
local server = spawn(("local port = %d\n"):format(port) .. [[
  local listener = caps.net:listen("127.0.0.1", port)
  local types = {html = "text/html", txt = "text/plain"}

  function serve(requests)
    local log = {}
    for _ = 1, requests do
      local conn = listener:accept()
      local request = conn:recv(4096) or ""
      local path = request:match("^GET (%S+) HTTP/1%.[01]\r\n") or ""
      path = path:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
      path = path:gsub("^/", "")
      if path == "" then path = "index.html" end
      local ok, body = pcall(caps.site.read, caps.site, path)
      local status
      if ok then
        status = "200 OK"
      elseif body.kind == "denied" or body.message:find("bad path") then
        -- The refusal names the key's host directory: keep that to the server's log.
        status, body = "403 Forbidden", "outside this site\n"
      else
        status, body = "404 Not Found", "no such page\n"
      end
      local kind = types[path:match("%.(%w+)$") or ""] or "application/octet-stream"
      conn:send(("HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s")
        :format(status, kind, #body, body))
      conn:close()
      log[#log + 1] = status:sub(1, 3)
    end
    return table.concat(log, " ")
  end
]], {
  name = "server",
  caps = {site = caps.site, net = caps.web:restrict(("127.0.0.1:%d:listen"):format(port))},
})
server:wait()

-- The client fetches each path and reports the status line and the body's first line.
local client = spawn(("local port, paths = %d, %q\n"):format(port, table.concat(paths, " ")) .. [[
  local results = {}
  for path in paths:gmatch("%S+") do
    local conn = caps.net:connect("127.0.0.1", port)
    conn:send(("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n"):format(path))
    local reply = {}
    repeat
      local chunk = conn:recv(65536)
      reply[#reply + 1] = chunk
    until not chunk
    conn:close()
    reply = table.concat(reply)
    local status = reply:match("^HTTP/1%.0 (%d+ [^\r]+)")
    local body = reply:match("\r\n\r\n(.*)$") or ""
    results[#results + 1] = ("%-30s %-15s %s"):format(path, status, body:match("[^\n]*"))
  end
  return table.concat(results, "\n")
]], {
  name = "client",
  caps = {net = caps.web:restrict(("127.0.0.1:%d:connect"):format(port))},
})

print("server answered: " .. server:call("serve", #paths))
print(client:wait())
print(("keys: the server held the site (rights %s) and a listen-only net key; the client a connect-only one")
  :format(caps.site:rights()))
