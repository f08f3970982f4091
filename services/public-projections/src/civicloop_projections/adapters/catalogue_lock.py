"""Serialises catalogue changes against request writes.

A request write reads the catalogue (service name, covering area); a catalogue write updates the requests it
affects. Without a lock, each could miss the other's uncommitted row and leave a name or area unset. Request writes
take the lock shared (they never block each other), catalogue writes take it exclusive, both before touching any
row and until their commit; so the result is the same whichever consumer gets there first, and a rebuild gives
identical rows. Catalogue changes are rare, so one lock for the whole schema costs nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg

_KEY = "hashtextextended('projections.catalogue', 0)"
# The shared lock as an expression, for a statement that takes it on its way (see `agent_store.load_for_update`).
CATALOGUE_LOCK_SHARED = f"pg_advisory_xact_lock_shared({_KEY})"


async def lock_catalogue_shared(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(f"select {CATALOGUE_LOCK_SHARED}")


async def lock_catalogue_exclusive(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(f"select pg_advisory_xact_lock({_KEY})")
