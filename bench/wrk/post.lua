-- A POST per request, every one unique: an Idempotency-Key of its own, and the body template's "{unique}" replaced
-- by the same key (so descriptions differ too). "{lat}" and "{long}" become a point drawn at random in a box over
-- Los Angeles (where the demo's service areas are), so requests spread over areas as real ones do.
-- Arguments (after `--`): path, content type, body template, a run id that keeps keys unique across runs.
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local counter = 0
local path, template, run
local headers = {}
local LAT_MIN, LAT_SPAN, LONG_MIN, LONG_SPAN = 33.95, 0.30, -118.45, 0.30

function init(args)
  path, template, run = args[1], args[3], args[4]
  headers["Content-Type"] = args[2]
  math.randomseed(thread_id * 7919 + #run)
end

function request()
  counter = counter + 1
  local unique = run .. "-" .. thread_id .. "-" .. counter
  headers["Idempotency-Key"] = unique
  local body = template:gsub("{unique}", unique)
  body = body:gsub("{lat}", string.format("%.6f", LAT_MIN + math.random() * LAT_SPAN))
  body = body:gsub("{long}", string.format("%.6f", LONG_MIN + math.random() * LONG_SPAN))
  return wrk.format("POST", path, headers, body)
end
