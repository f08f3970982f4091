"""The number of an imported request, unique among imports: a hash collision is resolved by the import order.

`mapping.import_number` hashes a back-end request's identity inside the importer's tag. Two identities may hash to
one number; the importer's own record (`outbound.backend_imports`) says which identity holds a number, and the one
that finds its number held by another takes the next attempt (`request_numbers.first_unheld`). The first imported
keeps attempt 0, and a retried import finds its number again.
"""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_events import request_numbers

from civicloop_outbound.domain import open311_mapping as mapping


async def free_import_number(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, body_id: str, external_id: str
) -> str:
    """The first of the identity's numbers that no other imported request holds."""
    mine = (jurisdiction_id, body_id, external_id)

    async def held_by_another(number: str) -> bool:
        cur = await conn.execute(
            "select jurisdiction_id, body_id, external_id from outbound.backend_imports where request_id = %s",
            (number,),
        )
        return any(tuple(row) != mine for row in await cur.fetchall())

    return await request_numbers.first_unheld(
        mapping.IMPORT_PRODUCER, mapping.import_identity(*mine), held_by_another
    )
