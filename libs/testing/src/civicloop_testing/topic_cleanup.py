"""The topics a test session created, deleted when it ends.

Each test gets topics under a prefix of its own (`make_topics`); left behind, they pile up on a developer's broker
(tens of thousands of partitions after a few runs), which then takes minutes to start. Deletion is best effort: a
broker that is gone by then costs a warning, never a failed run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aiokafka.admin import AIOKafkaAdminClient
from civicloop_events.kafka_connection import client_options

log = logging.getLogger("civicloop.testing.topics")

BATCH = 200  # topics per delete request

_created: dict[str, set[str]] = defaultdict(set)  # bootstrap -> prefixes created in this session


def remember(bootstrap: str, prefix: str) -> None:
    """Note that this session created topics under `prefix` on the broker at `bootstrap`."""
    _created[bootstrap].add(prefix)


async def _delete_under(bootstrap: str, prefixes: set[str]) -> int:
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=30_000)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(tuple(prefixes))]
        for i in range(0, len(names), BATCH):
            await admin.delete_topics(names[i : i + BATCH])
        return len(names)
    finally:
        await admin.close()


def delete_created(timeout_s: float = 120) -> None:
    """Delete every topic under a prefix this session created (then forget the prefixes)."""
    for bootstrap, prefixes in list(_created.items()):
        try:
            deleted = asyncio.run(asyncio.wait_for(_delete_under(bootstrap, prefixes), timeout_s))
        except Exception as exc:  # the run's result stands whatever happens here
            log.warning("test topics under %d prefixes were not deleted: %r", len(prefixes), exc)
        else:
            log.info("deleted %d test topics", deleted)
        _created.pop(bootstrap, None)
