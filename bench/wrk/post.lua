-- A POST per request, every one unique: an Idempotency-Key of its own, and the body template's "{unique}" replaced
-- by the same key (so descriptions differ too).
-- Arguments (after `--`): path, content type, body template, a run id that keeps keys unique across runs.
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local counter = 0
local path, template, run
local headers = {}

function init(args)
  path, template, run = args[1], args[3], args[4]
  headers["Content-Type"] = args[2]
end

function request()
  counter = counter + 1
  local unique = run .. "-" .. thread_id .. "-" .. counter
  headers["Idempotency-Key"] = unique
  local body = template:gsub("{unique}", unique)
  return wrk.format("POST", path, headers, body)
end
