"""Rate limits per client, for `service_app(rate_limit=...)`: every request outside /healthz, /readyz and /metrics
counts against its client's address, and a path may have a tighter limit of its own (intake's track).

What is per process and what is shared: these counters live in the process's memory (a sliding window counter, as
`limits` defines it; `limits` reads the notation), so a check costs no network round trip; with N replicas a client
gets up to N times the limit, which is right for shedding a flood and wrong for counting guesses. What must hold across replicas (the guesses
against one tracking number) is counted in PostgreSQL instead: `civicloop_runtime.attempt_limits`.

The client is the connection's peer address. Behind a reverse proxy every request comes from the proxy: name it in
`CIVICLOOP_RATE_LIMIT_TRUSTED_PROXIES` (CIDRs) and the client is then the last address in `X-Forwarded-For` that is
not itself a trusted proxy. A forwarded address from any other peer is ignored: a client cannot choose its own key.
(The server runs uvicorn with its own proxy-header handling off, so that the peer address is the socket's.)
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from fastapi import Request, Response
from limits import RateLimitItem, parse_many
from starlette.types import Scope

from civicloop_runtime.app import ErrorRenderer, RateLimit
from civicloop_runtime.settings import ProcessSettings

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = b"x-forwarded-for"


def parse_limits(notation: str) -> list[RateLimitItem]:
    """`limits`' notation ("20/second;600/minute"); empty or blank: no limit."""
    return parse_many(notation) if notation.strip() else []


def parse_networks(cidrs: str) -> tuple[IpNetwork, ...]:
    """Comma-separated addresses or CIDRs ("10.0.0.0/8, 127.0.0.1")."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs.split(",") if c.strip())


def client_address(scope: Scope, trusted_proxies: Sequence[IpNetwork]) -> str:
    """The peer's address; when the peer is a trusted proxy, the last forwarded address not a trusted proxy."""
    peer = scope["client"][0] if scope.get("client") else "unknown"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    forwarded = [
        value for name, value in scope["headers"] if name == FORWARDED_FOR
    ]  # several headers read as one list
    hops = [h.strip() for h in b",".join(forwarded).decode("latin-1").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: Sequence[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # not an address (a forged header): never a proxy
    return any(ip in network for network in trusted)


@dataclass(frozen=True)
class Refused:
    """A request over a limit: how long until the client may try again, in whole seconds (Retry-After)."""

    retry_after_s: int
    limit: str


class SlidingWindows:
    """Counters per (limit, key) in this process: `limits`' "sliding window counter" (the current fixed window's
    count plus the previous one's, weighted by how much of it the sliding window still covers), kept in a dict.

    Not `limits`' own memory storage: it starts a thread every 10 ms to expire keys, which measured 40-150 us of CPU
    per request on the gateway's cheapest route (about 310 us without it). Here ended windows are dropped by one
    pass over the dict per `sweep_every_s`, on the request that finds it due.
    """

    def __init__(self, *, sweep_every_s: float = 60.0) -> None:
        # (namespace, limit, client) -> [window length, window index, count in it, count in the one before]
        self._counts: dict[tuple[str, RateLimitItem, str], list[float]] = {}
        self._sweep_every_s = sweep_every_s
        self._swept_at = time.monotonic()

    def hit(self, item: RateLimitItem, namespace: str, client: str, now: float) -> int | None:
        """Counts a request: None when it fits, else the whole seconds until one would."""
        self._sweep_if_due(now)
        length, amount = float(item.get_expiry()), item.amount
        index, into = divmod(now, length)
        entry = self._counts.get((namespace, item, client))
        previous, current = _counts_at(entry, index)
        if previous * (1 - into / length) + current + 1 <= amount:
            self._counts[(namespace, item, client)] = [length, index, current + 1, previous]
            return None
        return max(1, math.ceil(_wait(previous, current, amount, length, into)))

    def __len__(self) -> int:
        """How many counters are kept."""
        return len(self._counts)

    def _sweep_if_due(self, now: float) -> None:
        if time.monotonic() - self._swept_at < self._sweep_every_s:
            return
        self._swept_at = time.monotonic()
        self._counts = {k: e for k, e in self._counts.items() if e[1] >= now // e[0] - 1}


def _counts_at(entry: list[float] | None, index: float) -> tuple[float, float]:
    """(previous window's count, current window's count) as of window `index`."""
    if entry is None or entry[1] < index - 1:
        return 0.0, 0.0
    if entry[1] == index - 1:
        return entry[2], 0.0
    return entry[3], entry[2]


def _wait(previous: float, current: float, amount: int, length: float, into: float) -> float:
    """Seconds until `previous * weight + current + 1 <= amount` holds again."""
    if current + 1 <= amount:  # within this window, once enough of the previous one has slid out
        return length * (1 - (amount - current - 1) / previous) - into
    # Past the end of this window, where this one's count becomes the previous one's.
    later = length * (1 - (amount - 1) / current) if current > 0 and amount >= 1 else 0.0
    return length - into + max(0.0, later)


class ClientRateLimits:
    """Per-client limits in this process: `check(path, client)` counts the request and says whether it is over.

    `limits` applies everywhere; `per_path` adds a prefix's own limit on top (counted apart from the rest). A prefix
    in `apart` counts against its own limit only: a provider's signed webhooks come from a few addresses at the
    provider's pace, and a callback refused by the everywhere limit is one the provider never sends again."""

    def __init__(
        self, limits: str, *, per_path: Mapping[str, str] | None = None, apart: Collection[str] = ()
    ) -> None:
        self._windows = SlidingWindows()
        self._everywhere = parse_limits(limits)
        self._per_path = [(prefix, parse_limits(n)) for prefix, n in (per_path or {}).items()]
        self._apart = tuple(apart)
        if missing := [prefix for prefix in self._apart if prefix not in dict(self._per_path)]:
            raise ValueError(f"a path counted apart needs a limit of its own: {missing}")

    @property
    def active(self) -> bool:
        return bool(self._everywhere) or any(items for _, items in self._per_path)

    def check(self, path: str, client: str) -> Refused | None:
        now = time.time()
        for namespace, items in self._applying(path):
            for item in items:
                retry_after_s = self._windows.hit(item, namespace, client, now)
                if retry_after_s is not None:
                    return Refused(retry_after_s, str(item))
        return None

    def _applying(self, path: str) -> list[tuple[str, list[RateLimitItem]]]:
        applying = [] if path.startswith(self._apart) else [("*", self._everywhere)]
        applying += [(prefix, items) for prefix, items in self._per_path if path.startswith(prefix)]
        return applying


def too_many_requests(
    render_error: ErrorRenderer, request: Request, refused: Refused, detail: str | None = None
) -> Response:
    """429 in the service's own error format, with Retry-After in seconds."""
    response = render_error(
        request,
        429,
        "too_many_requests",
        detail or f"too many requests from this client; retry after {refused.retry_after_s} s",
    )
    response.headers["Retry-After"] = str(refused.retry_after_s)
    return response


def client_rate_limit(
    settings: ProcessSettings,
    render_error: ErrorRenderer,
    *,
    per_path: Mapping[str, str] | None = None,
    apart: Collection[str] = (),
) -> RateLimit | None:
    """The `rate_limit` for `service_app` from the process's settings; None when no limit is set."""
    counters = ClientRateLimits(settings.rate_limit_per_client, per_path=per_path, apart=apart)
    if not counters.active:
        return None
    trusted = parse_networks(settings.rate_limit_trusted_proxies)

    async def rate_limit(request: Request) -> Response | None:
        refused = counters.check(request.scope["path"], client_address(request.scope, trusted))
        return None if refused is None else too_many_requests(render_error, request, refused)

    return rate_limit
