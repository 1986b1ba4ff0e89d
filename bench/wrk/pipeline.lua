-- Sends WRK_PIPELINE (default 16) requests per write on each connection: HTTP/1.1 pipelining,
-- the way the TechEmpower plaintext test loads a server. Needs the server to keep the
-- connection alive, so it is not used against gunicorn's sync worker.
local dir = os.getenv("WRK_SCRIPTS") or "."
dofile(dir .. "/stats.lua")

local depth = tonumber(os.getenv("WRK_PIPELINE") or "16")
local batch

function init(args)
   local one = wrk.format()
   batch = string.rep(one, depth)
end

function request()
   return batch
end
