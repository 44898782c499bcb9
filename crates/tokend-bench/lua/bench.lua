-- wrk script for `cargo xtask bench`: which requests to send, and a machine-readable summary.
--
-- Arguments (after wrk's `--`):
--   lines PATH FILE             GET PATH with `Authorization: Bearer <line>`, one line of FILE
--                               after another (bearer tokens)
--   form PATH FILE              POST PATH, one line of FILE after another as an
--                               application/x-www-form-urlencoded body (client credentials)
--   get PATH [AUTHORIZATION]    the same GET every time, with an optional Authorization value
--
-- Each wrk thread starts at a different line, so connections do not walk the list in step.
-- `done` prints one `BENCH key=value ...` line (latencies in microseconds) and one
-- `STATUS code count` line per HTTP status seen, which the xtask parses; wrk's own report
-- above them is for people.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
   thread:set("statuses", {})
end

local mode, path
local lines = {}
local position = 0
local fixed_request

function init(args)
   mode, path = args[1], args[2]
   if mode == "lines" or mode == "form" then
      for line in io.lines(args[3]) do
         if line ~= "" then
            lines[#lines + 1] = line
         end
      end
      if #lines == 0 then
         error("no lines in " .. args[3])
      end
      position = ((thread_number or 1) * 7919) % #lines
   elseif mode == "get" then
      local headers = {}
      if args[3] then
         headers["Authorization"] = args[3]
      end
      fixed_request = wrk.format("GET", path, headers)
   else
      error("unknown mode " .. tostring(mode))
   end
end

local function next_line()
   position = position % #lines + 1
   return lines[position]
end

function request()
   if mode == "lines" then
      return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. next_line() })
   elseif mode == "form" then
      return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, next_line())
   end
   return fixed_request
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d non_2xx_3xx=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.timeout, e.status))
   local total = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
   end
   for status, count in pairs(total) do
      io.write(string.format("STATUS %d %d\n", status, count))
   end
end
