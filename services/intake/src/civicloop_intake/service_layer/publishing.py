"""The last step of every intake command: publish what it kept (unless published earlier), then answer.

Every intake outbox keeps the log position of the event it published, so a command can always tell the client where
to wait for it (read-your-writes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from civicloop_events.outbox import EventLog, Outbox, publish_stored

from civicloop_intake.domain.submissions import IdempotencyKeyReused, KeptCommand, LogPosition


@dataclass(frozen=True)
class Published:
    position: LogPosition
    created: bool  # False when an earlier call (or the sweeper) had published the row


@dataclass(frozen=True)
class Receipt:
    """The answer to a command kept under an Idempotency-Key: its request, and where its event stands on the log."""

    request_number: str
    position: LogPosition
    created: bool  # False when this call answered a command an earlier call (same key) had already published


async def answer_kept(
    kept: KeptCommand,
    *,
    fingerprint: str,
    outbox: Outbox,
    event_log: EventLog,
    log: logging.Logger,
    message: str,
    stored_now: bool = False,
) -> Receipt:
    """Answer the command kept under its Idempotency-Key, publishing its event unless published earlier; the same
    key with another body (`fingerprint`) is refused."""
    if kept.body_hash != fingerprint:
        raise IdempotencyKeyReused(kept.idempotency_key)
    published = await publish_kept(
        outbox,
        event_log,
        kept.idempotency_key,
        log=log,
        message=message,
        context={"request_number": kept.request_number, "event_id": str(kept.event_id)},
        stored_now=stored_now,
    )
    return Receipt(kept.request_number, published.position, created=published.created)


async def publish_kept(
    outbox: Outbox,
    event_log: EventLog,
    key: str,
    *,
    log: logging.Logger,
    message: str,
    context: Mapping[str, str],
    stored_now: bool = False,
) -> Published:
    """Publish the events kept under `key`; log `message` with `context` (never personal data) once, when this
    call is the one that published them."""
    outcome = await publish_stored(outbox, event_log, key, stored_now=stored_now)
    if outcome.position is None:
        raise RuntimeError(f"{outbox.outbox_name} keeps a position for every row it published")
    if outcome.published_now:
        log.info(
            message,
            extra={**context, "partition": outcome.position.partition, "offset": outcome.position.offset},
        )
    return Published(outcome.position, created=outcome.published_now)
