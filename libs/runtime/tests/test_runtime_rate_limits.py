"""Per-client rate limits on the service skeleton: the client over its limit is answered 429 with an honest
Retry-After in the service's error format, others go on, the ops endpoints are never limited, the window ends, and
a forwarded address counts only from a proxy the settings trust."""

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_runtime.app import json_error, service_app
from civicloop_runtime.rate_limits import (
    ClientRateLimits,
    SlidingWindows,
    client_address,
    client_rate_limit,
    parse_limits,
    parse_networks,
)
from civicloop_runtime.settings import ProcessSettings
from fastapi import APIRouter
from pydantic import ValidationError

router = APIRouter()


@router.get("/open")
async def open_route() -> dict[str, bool]:
    return {"ok": True}


@router.get("/tight/thing")
async def tight_route() -> dict[str, bool]:
    return {"ok": True}


class Running:
    def readiness_checks(self):
        async def fine() -> bool:
            return True

        return {"database": fine}

    async def close(self) -> None:
        pass


@asynccontextmanager
async def limited_app(per_path=None, **settings):
    async def start() -> Running:
        return Running()

    rate_limit = client_rate_limit(ProcessSettings(**settings), json_error, per_path=per_path)
    app = service_app(title="t", version="1", start=start, routers=(router,), rate_limit=rate_limit)
    async with LifespanManager(app) as manager:

        def client(address: str, **headers: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=manager.app, client=(address, 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)

        yield client


async def statuses(client: httpx.AsyncClient, n: int, path: str = "/open") -> list[int]:
    return [(await client.get(path)).status_code for _ in range(n)]


async def test_a_client_over_its_limit_is_answered_429_with_retry_after_and_others_go_on():
    async with (
        limited_app(rate_limit_per_client="3/minute") as client,
        client("198.51.100.1") as greedy,
        client("198.51.100.2") as other,
    ):
        assert await statuses(greedy, 3) == [200, 200, 200]
        refused = await greedy.get("/open")
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 120  # sliding: at most twice the window
        assert await statuses(other, 3) == [200, 200, 200]
        assert (await greedy.get("/healthz")).status_code == 200
        assert (await greedy.get("/readyz")).status_code == 200


async def test_the_limit_resets_when_retry_after_has_passed():
    async with limited_app(rate_limit_per_client="2/second") as client, client("198.51.100.3") as c:
        assert await statuses(c, 2) == [200, 200]
        refused = await c.get("/open")
        assert refused.status_code == 429
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 2  # sliding: at most twice the window
        await asyncio.sleep(retry_after)  # what the answer promised: the window has moved on by then
        assert await statuses(c, 1) == [200]


async def test_a_path_with_its_own_limit_is_counted_apart_and_on_top():
    async with (
        limited_app(rate_limit_per_client="10/minute", per_path={"/tight": "2/minute"}) as client,
        client("198.51.100.4") as c,
    ):
        assert await statuses(c, 3, "/tight/thing") == [200, 200, 429]
        assert await statuses(c, 7) == [200] * 7  # 3 + 7 of the general 10
        assert await statuses(c, 1) == [429]


async def test_a_forwarded_address_counts_only_from_a_trusted_proxy():
    async with limited_app(
        rate_limit_per_client="2/minute", rate_limit_trusted_proxies="10.0.0.0/8"
    ) as client:
        async with (
            client("10.1.2.3", **{"X-Forwarded-For": "203.0.113.9"}) as resident_a,
            client("10.1.2.3", **{"X-Forwarded-For": "203.0.113.10"}) as resident_b,
        ):
            assert await statuses(resident_a, 3) == [200, 200, 429]
            assert await statuses(resident_b, 2) == [200, 200]  # the same proxy, another resident
        # Not from a trusted proxy: a made-up X-Forwarded-For on each request does not make a new client.
        spoofed = [
            (await c.get("/open")).status_code
            for i in range(3)
            for c in [client("192.0.2.7", **{"X-Forwarded-For": f"203.0.113.{100 + i}"})]
        ]
        assert spoofed == [200, 200, 429]


def test_the_client_behind_trusted_proxies_is_the_last_address_they_did_not_add():
    trusted = parse_networks("10.0.0.0/8, 192.168.1.1")

    def scope(peer, *forwarded):
        return {"client": (peer, 1), "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}

    assert client_address(scope("10.0.0.5", "198.51.100.1, 192.168.1.1"), trusted) == "198.51.100.1"
    assert client_address(scope("10.0.0.5", "6.6.6.6, 198.51.100.1"), trusted) == "198.51.100.1"
    assert client_address(scope("10.0.0.5", "6.6.6.6", "198.51.100.1"), trusted) == "198.51.100.1"
    assert client_address(scope("10.0.0.5", "not-an-address"), trusted) == "not-an-address"
    assert client_address(scope("10.0.0.5"), trusted) == "10.0.0.5"
    assert client_address(scope("198.51.100.2", "6.6.6.6"), trusted) == "198.51.100.2"
    assert client_address(scope("198.51.100.2", "6.6.6.6"), ()) == "198.51.100.2"


def test_no_limit_set_is_no_limiter_and_a_bad_notation_is_refused_at_start():
    assert client_rate_limit(ProcessSettings(rate_limit_per_client=""), json_error) is None
    assert not ClientRateLimits("").active
    with pytest.raises(ValidationError, match="rate limit"):
        ProcessSettings(rate_limit_per_client="lots")
    with pytest.raises(ValidationError):
        ProcessSettings(rate_limit_trusted_proxies="10.0.0.0/33")


def test_the_sliding_window_weighs_the_previous_window_and_says_when_one_more_fits():
    [three_per_10s] = parse_limits("3 per 10 seconds")
    windows = SlidingWindows()
    assert [windows.hit(three_per_10s, "*", "a", t) for t in (0.0, 1.0, 2.0)] == [None, None, None]
    # Full: the 4th fits once the window has slid far enough past this one (10 - 3 + 10 * (1 - 2/3) = 10.33 s).
    assert windows.hit(three_per_10s, "*", "a", 3.0) == 11
    assert windows.hit(three_per_10s, "*", "b", 3.0) is None  # another client
    # At 13.3 s the previous window still weighs 3 * 0.67 = 2.01: one more would be 3.01.
    assert windows.hit(three_per_10s, "*", "a", 13.3) is not None
    assert windows.hit(three_per_10s, "*", "a", 13.4) is None
    assert windows.hit(three_per_10s, "*", "a", 13.5) is not None  # 3 * 0.65 + 1 + 1 = 3.95
    assert windows.hit(three_per_10s, "*", "a", 40.0) is None  # long after: counted afresh


def test_ended_windows_are_dropped_by_the_sweep():
    [one_per_s] = parse_limits("1/second")
    windows = SlidingWindows(sweep_every_s=0)
    for client in ("a", "b", "c"):
        assert windows.hit(one_per_s, "*", client, 100.2) is None
    assert len(windows) == 3
    # a, b and c's window is now the previous one: kept.
    assert windows.hit(one_per_s, "*", "d", 101.5) is None
    assert len(windows) == 4
    assert windows.hit(one_per_s, "*", "e", 102.5) is None  # two windows later: theirs has ended
    assert len(windows) == 2


def test_a_path_counted_apart_meets_its_own_limit_only():
    limits = ClientRateLimits("2/second", per_path={"/webhooks/": "5/second"}, apart=("/webhooks/",))
    assert [limits.check("/webhooks/twilio/status", "twilio") for _ in range(5)] == [None] * 5
    assert limits.check("/webhooks/twilio/status", "twilio") is not None  # its own limit still holds
    assert [limits.check("/api/v1/x", "twilio") for _ in range(2)] == [None, None]  # the rest counted apart
    assert limits.check("/api/v1/x", "twilio") is not None
    with pytest.raises(ValueError, match="limit of its own"):
        ClientRateLimits("2/second", apart=("/webhooks/",))
