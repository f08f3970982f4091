"""The last step of every intake command: publish what it kept (unless published earlier), then answer.

Every intake outbox keeps the log position of the event it published, so a command can always tell the client where
to wait for it (read-your-writes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from civicloop_events.outbox import EventLog, Outbox, publish_stored

from civicloop_intake.domain.submissions import LogPosition


@dataclass(frozen=True)
class Published:
    position: LogPosition
    created: (
        bool  # False when this call answered a row an earlier call (or the sweeper) had already published
    )


async def publish_kept(
    outbox: Outbox,
    event_log: EventLog,
    key: str,
    *,
    log: logging.Logger,
    message: str,
    context: Mapping[str, str],
) -> Published:
    """Publish the events kept under `key`; log `message` with `context` (never personal data) once, when this
    call is the one that published them."""
    outcome = await publish_stored(outbox, event_log, key)
    if outcome.position is None:
        raise RuntimeError(f"{outbox.outbox_name} keeps a position for every row it published")
    if outcome.published_now:
        log.info(
            message,
            extra={**context, "partition": outcome.position.partition, "offset": outcome.position.offset},
        )
    return Published(outcome.position, created=outcome.published_now)
