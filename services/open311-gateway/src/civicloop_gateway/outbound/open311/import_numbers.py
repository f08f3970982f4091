"""The number of an imported request, unique among imports: a hash collision is resolved by the import order.

`mapping.import_number` hashes a back-end request's identity inside the importer's tag. Two identities may hash to
one number; the importer's own record (`gateway.backend_imports`) says which identity holds a number, and the one
that finds its number held by another takes the next attempt. The first imported keeps attempt 0, so a retried
import finds its number again.
"""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_events.request_numbers import MAX_DRAWS, RequestNumbersExhausted

from civicloop_gateway.outbound.open311 import mapping


async def free_import_number(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, body_id: str, external_id: str
) -> str:
    """The first of the identity's numbers that no other imported request holds."""
    mine = (jurisdiction_id, body_id, external_id)
    for attempt in range(MAX_DRAWS):
        number = mapping.import_number(*mine, attempt)
        cur = await conn.execute(
            "select jurisdiction_id, body_id, external_id from gateway.backend_imports where request_id = %s",
            (number,),
        )
        holders = {tuple(row) for row in await cur.fetchall()}
        if not holders - {mine}:
            return number
    raise RequestNumbersExhausted(f"no free import number after {MAX_DRAWS} attempts")
