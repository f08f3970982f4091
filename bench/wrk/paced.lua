-- Paces a closed-loop wrk run to an offered rate. wrk calls delay() before every request of a connection; each thread
-- hands out send slots `interval_us` apart (PACE_INTERVAL_US, set by the bench above this script: threads * 1e6 /
-- rate), one per call, so the thread's connections together send at the thread's share of the rate. A thread that
-- falls behind (no connection free in time) starts its schedule again from now instead of bursting to catch up.
-- The maths is bench/pacing.py's (next_slot), where it is unit-tested.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

local next_slot_us = nil

function delay()
  local now = now_us()
  if next_slot_us == nil or next_slot_us + PACE_INTERVAL_US < now then
    next_slot_us = now
  else
    next_slot_us = next_slot_us + PACE_INTERVAL_US
  end
  return math.floor((next_slot_us - now) / 1000 + 0.5)  -- wrk takes whole milliseconds
end
