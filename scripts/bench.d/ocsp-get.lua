-- wrk script for scripts/bench-revocation: GET OCSP requests (RFC 5019 form), rotating
-- over a list of prepared paths so that each connection asks about many certificates.
--
-- Environment:
--   OCSP_PATHS   file with one URL-escaped base64 DER request per line (required)
--   OCSP_PREFIX  path prefix put before each request ("/ocsp/" for Castellan, "/" for
--                OpenSSL's responder)
--   OCSP_CLOSE   "1" to send "Connection: close" (a new TCP connection per request)
--
-- At the end it prints one machine-readable line:
--   RESULT requests=N seconds=S non2xx=N connect=N read=N write=N timeout=N p50_ms=X p99_ms=X

local prefix = os.getenv("OCSP_PREFIX") or "/ocsp/"
local list = os.getenv("OCSP_PATHS")
local close = os.getenv("OCSP_CLOSE") == "1"

local paths = {}
if list then
  for line in io.lines(list) do
    if line ~= "" then
      paths[#paths + 1] = prefix .. line
    end
  end
end

local threads = 0
local next_index = 1

-- Each thread starts at a different place in the list.
function setup(thread)
  threads = threads + 1
  thread:set("start", threads * 997)
end

function init(args)
  if #paths == 0 then
    error("OCSP_PATHS is unset or names an empty file")
  end
  next_index = (start or 0) % #paths + 1
end

local headers = {}
if close then
  headers["Connection"] = "close"
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f non2xx=%d connect=%d read=%d write=%d timeout=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
