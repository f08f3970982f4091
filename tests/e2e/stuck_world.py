"""What the "nothing stays stuck" end-to-end tests share: selfheal's settings on the test's database and topics, its
cron route called as a cron runner would (many times at once), its view waited for, what it put on the log read
back, and a department's webhook that refuses before it accepts.

Named uniquely so that it never collides with another directory's helpers when the whole repository's tests run.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from civicloop_events import Event
from civicloop_events.topics import Topics
from civicloop_runtime.cron import CRON_TOKEN_HEADER
from civicloop_selfheal.database import migrate as migrate_selfheal
from civicloop_selfheal.settings import SelfhealSettings
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from psycopg_pool import AsyncConnectionPool

CRON_TOKEN = "e2e-selfheal-cron-token-0123456789abcdef"
CRON_TOKEN_ENV = "CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN"
SELF_HEAL = "/api/cron/self-heal"


def migrated_selfheal(dsn: str, topics: Topics, kafka_bootstrap: str) -> SelfhealSettings:
    """selfheal with no schedule of its own: only the test's cron calls sweep."""
    settings = run_settings(SelfhealSettings, dsn, kafka_bootstrap, topics, selfheal_every_s=0)
    migrate_selfheal(settings.sqlalchemy_url)
    return settings


async def cron_storm(*replicas: httpx.AsyncClient, calls: int) -> list[dict[str, Any]]:
    """`calls` concurrent calls with the cron token to each replica at once; the runs that were not refused as busy
    (409)."""
    answers = await asyncio.gather(
        *(
            replica.post(SELF_HEAL, headers={CRON_TOKEN_HEADER: CRON_TOKEN})
            for replica in replicas
            for _ in range(calls)
        )
    )
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    return [a.json() for a in answers if a.status_code == 200]


def actions_done(runs: list[dict[str, Any]]) -> Counter[str]:
    """Every action the runs did, summed."""
    done: Counter[str] = Counter()
    for run in runs:
        done.update(run["done"])
    return done


async def view_holds(pool: AsyncConnectionPool, number: str, condition: str) -> None:
    """Wait until selfheal's view holds `number` with `condition` (SQL over its `view` JSON) true."""

    async def there() -> bool:
        async with pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"select count(*) from selfheal.requests where request_number = %s and ({condition})",
                    (number,),
                )
            ).fetchone()
        return bool(row and row[0] == 1)

    await eventually(there, timeout=30, what=f"selfheal's view of {number} ({condition})", interval=0.1)


async def sla_known(pool: AsyncConnectionPool, jurisdiction_id: str) -> None:
    async def there() -> bool:
        async with pool.connection() as conn:
            row = await (
                await conn.execute(
                    "select count(*) from selfheal.sla_definitions where jurisdiction_id = %s",
                    (jurisdiction_id,),
                )
            ).fetchone()
        return bool(row and row[0] == 1)

    await eventually(there, timeout=30, what="selfheal to know the SLA", interval=0.1)


async def events_about(kafka: str, topics: Topics, number: str) -> list[Event[Any]]:
    """Every event of request `number` on the log, in order."""
    events = await read_all_events(kafka, topics.request_events, topics.partitions)
    return [e for e in events if e.request_id == number]


@dataclass
class RefusingWebhook:
    """A department's webhook (an ASGI app): checks the signature, answers `status` (422 at first: a refusal the
    sender does not retry), and keeps each document it accepted."""

    secret: str
    status: int = 422
    refused: list[str] = field(default_factory=list)  # the request numbers it refused, in order
    accepted: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers.get("x-civicloop-signature", ""), expected)
        number = json.loads(raw)["request"]["request_id"]
        if self.status >= 300:
            self.refused.append(number)
            answer: dict[str, Any] = {"error": "the work-order system is being upgraded"}
        else:
            self.accepted.append(number)
            answer = {"external_id": f"WO-{len(self.accepted)}"}
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})
