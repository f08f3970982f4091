"""Requests wait for the configuration: a consumer of the request topic starts once the configuration consumer has
applied the config topic as it stood at that moment.

Requests and configuration are separate topics with no order between them. Without this wait a fresh start, or a
backlog read after a restart, could act on requests before the configuration they need is folded (geo placing a
report outside every service area; outbound routing a report to no body although its body was defined first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from civicloop_events.consumer import read_positions
from civicloop_events.topics import partition_extents
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("civicloop.runtime")


@contextlib.asynccontextmanager
async def config_caught_up(
    pool: AsyncConnectionPool,
    *,
    schema: str,
    bootstrap_servers: str,
    topic: str,
    consumer: str,
    timeout_s: float = 120.0,
    poll_s: float = 0.2,
) -> AsyncIterator[None]:
    """Until `consumer`'s stored positions (in `schema`) reach the end `topic` had when this began.

    After `timeout_s` it goes on regardless (a stuck configuration consumer must not stop requests forever) and
    says so in the log.
    """
    ends = {
        p: end
        for p, (start, end) in (await partition_extents(bootstrap_servers, topic)).items()
        if end > start
    }
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                async with pool.connection() as conn:
                    done = await read_positions(conn, schema, consumer, topic)
                if all(done.get(p, 0) >= end for p, end in ends.items()):
                    break
                await asyncio.sleep(poll_s)
    except TimeoutError:
        log.warning(
            "configuration not caught up; reading requests anyway",
            extra={"consumer": consumer, "timeout_s": timeout_s},
        )
    yield
