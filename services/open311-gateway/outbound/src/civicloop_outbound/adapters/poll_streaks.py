"""A back-end's polls failing in a row, kept in `outbound.body_poll_streaks` and said on `jurisdiction.config`
(`domain/poll_streaks.py` decides), and the nudges that make a body's next poll due at once.

Each body's step is one transaction: the row is locked, the announcement (if any) published, then the row updated,
so a crash before the commit publishes the same event again (its id derives from the body and the streak's start)
and every consumer's inbox drops the copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from civicloop_events import Event, derived_event_id
from civicloop_events.payloads import BodyPollFailing, BodyPollRecovered
from civicloop_events.producer import EventProducer
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.adapters.open311_client import Open311Failure
from civicloop_outbound.domain.poll_streaks import Announcement, Streak, after_poll
from civicloop_outbound.service_layer.dispatcher import OUTBOUND_ACTOR, OUTBOUND_SOURCE

log = logging.getLogger("civicloop.outbound.poll_streaks")

BodyKey = tuple[str, str]  # (jurisdiction_id, body_id)


def poll_error_kind(exc: BaseException) -> str:
    """What failed, in words safe for the log and the event: an HTTP status, or the kind of transport error (a
    failure's message names the back-end's URL, so it is never used)."""
    status = getattr(exc, "status", None)
    if isinstance(exc, Open311Failure) and status is not None:
        return f"HTTP {status}"
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError):
        return type(cause).__name__
    return type(exc).__name__


def _announcement(key: BodyKey, announce: Announcement, streak: Streak, at: datetime) -> Event[Any]:
    j, body_id = key
    since = streak.failing_since or at
    payload: BodyPollFailing | BodyPollRecovered
    if announce is Announcement.failing:
        payload = BodyPollFailing(
            body_id=body_id, failing_since=since, failures=streak.failures, error=streak.last_error
        )
    else:
        payload = BodyPollRecovered(body_id=body_id, failing_since=since, failures=max(streak.failures, 1))
    return Event.create(
        payload,
        request_id=None,
        jurisdiction_id=j,
        actor=OUTBOUND_ACTOR,
        source=OUTBOUND_SOURCE,
        occurred_at=at,
        event_id=derived_event_id(payload.event_type, j, body_id, since.isoformat()),
    )


async def record_round(
    pool: AsyncConnectionPool,
    producer: EventProducer,
    *,
    topic: str,
    outcomes: Mapping[BodyKey, str | None],
    at: datetime,
    threshold: int,
    publish_timeout_s: float = 10.0,
) -> None:
    """Each polled body's outcome this round (an error's kind, None for a success) into its streak."""
    for key, error in outcomes.items():
        async with pool.connection() as conn, conn.transaction():
            # An upsert that returns the row locks it (a new body's streak starts empty).
            cur = await conn.execute(
                "insert into outbound.body_poll_streaks as s (jurisdiction_id, body_id) values (%s, %s)"
                " on conflict (jurisdiction_id, body_id) do update set failures = s.failures"
                " returning failures, failing_since, announced, last_error",
                key,
            )
            streak = Streak(*(await cur.fetchone() or ()))
            step = after_poll(streak, error=error, at=at, threshold=threshold)
            if step.announce is not None:
                told = step.told()
                event = _announcement(key, step.announce, told, at)
                await asyncio.wait_for(producer.publish(event, topic=topic), timeout=publish_timeout_s)
                log.warning(
                    f"back-end polls {step.announce.value}",
                    extra={"jurisdiction_id": key[0], "body_id": key[1], "failures": told.failures},
                )
            s = step.streak
            await conn.execute(
                "update outbound.body_poll_streaks set failures = %s, failing_since = %s, announced = %s,"
                " last_error = %s where jurisdiction_id = %s and body_id = %s",
                (s.failures, s.failing_since, s.announced, s.last_error, *key),
            )


async def pending_nudge(pool: AsyncConnectionPool, key: BodyKey) -> datetime | None:
    """When the body was nudged, if that nudge has not been acted on yet."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select nudged_at from outbound.body_poll_streaks where jurisdiction_id = %s and body_id = %s",
            key,
        )
        row = await cur.fetchone()
    return row[0] if row else None


async def nudge_acted_on(pool: AsyncConnectionPool, key: BodyKey, nudged_at: datetime) -> None:
    """The nudge read before the body's poll is done with (a later nudge stays pending)."""
    async with pool.connection() as conn:
        await conn.execute(
            "update outbound.body_poll_streaks set nudged_at = null"
            " where jurisdiction_id = %s and body_id = %s and nudged_at = %s",
            (*key, nudged_at),
        )
