"""Partner keys as the view (gateway.partners) holds them: ids and digests, never keys."""

from __future__ import annotations

from civicloop_open311.dates import format_w3c
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.service_layer.partner_admin import PartnerListing


async def list_partners(
    pool: AsyncConnectionPool, *, jurisdiction_id: str | None = None
) -> list[PartnerListing]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select jurisdiction_id, client_id, name, key_id, authorised_at, revoked_at from gateway.partners"
            " where %(j)s::text is null or jurisdiction_id = %(j)s::text"
            " order by jurisdiction_id, client_id, authorised_at, key_id",
            {"j": jurisdiction_id},
        )
        rows = await cur.fetchall()
    return [
        PartnerListing(j, c, n, k, format_w3c(authorised), format_w3c(revoked) if revoked else None)
        for j, c, n, k, authorised, revoked in rows
    ]
