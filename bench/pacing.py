"""Open-loop pacing of wrk (a closed-loop generator) through its Lua `delay()` hook: the maths of `wrk/paced.lua`.

Each wrk thread hands its connections send slots `interval` apart, one per request; with enough connections free
the thread sends at `rate / threads`, and the run offers `rate` in total. A thread that fell behind restarts its
schedule at the present rather than bursting to catch up, so a slow server is offered at most the rate, never more.
"""

from __future__ import annotations

import math


def thread_interval_us(rate: float, threads: int) -> float:
    """Microseconds between two send slots of one thread, for `rate` requests/s over `threads` threads."""
    if rate <= 0 or threads <= 0:
        raise ValueError("rate and threads must be positive")
    return threads * 1e6 / rate


def next_slot(previous: float | None, now: float, interval: float) -> float:
    """The next send slot after `previous` (µs), or `now` when there was none or the schedule fell behind."""
    if previous is None or previous + interval < now:
        return now
    return previous + interval


def delay_ms(slot: float, now: float) -> int:
    """What `delay()` returns to wrk: the wait until `slot`, rounded to wrk's whole milliseconds."""
    return math.floor((slot - now) / 1000 + 0.5)


def connections_for(
    rate: float, latency_ms: float, threads: int, *, headroom: float = 2.0, max_idle_s: float = 2.0
) -> int:
    """Connections enough to offer `rate` when each request takes about `latency_ms` (Little's law, with headroom),
    but no more than keep each one busy every `max_idle_s` (the services' server closes a keep-alive connection
    idle for 5 s, and wrk counts the next write on it as a socket error); a multiple of `threads` (wrk spreads
    connections evenly), at least one per thread."""
    needed = max(1, math.ceil(rate * latency_ms / 1000 * headroom))
    needed = min(needed, max(1, math.floor(rate * max_idle_s)))
    return max(threads, math.ceil(needed / threads) * threads)
