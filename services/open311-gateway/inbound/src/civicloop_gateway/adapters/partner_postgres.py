"""Partner keys as the view (gateway.partners) holds them: ids and digests, never keys; with each key's use
(`gateway.partner_key_usage`, counted as writes are authorised)."""

from __future__ import annotations

from civicloop_open311.dates import format_w3c
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.service_layer.partner_admin import PartnerListing


async def list_partners(
    pool: AsyncConnectionPool, *, jurisdiction_id: str | None = None
) -> list[PartnerListing]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select p.jurisdiction_id, p.client_id, p.name, p.key_id, p.authorised_at, p.revoked_at,"
            " coalesce(u.requests, 0), coalesce(u.refused, 0), u.last_used_at"
            " from gateway.partners p left join gateway.partner_key_usage u using (jurisdiction_id, client_id, key_id)"
            " where %(j)s::text is null or p.jurisdiction_id = %(j)s::text"
            " order by p.jurisdiction_id, p.client_id, p.authorised_at, p.key_id",
            {"j": jurisdiction_id},
        )
        rows = await cur.fetchall()
    return [
        PartnerListing(
            j,
            c,
            n,
            k,
            format_w3c(authorised),
            format_w3c(revoked) if revoked else None,
            requests=requests,
            refused=refused,
            last_used_at=format_w3c(used) if used else None,
        )
        for j, c, n, k, authorised, revoked, requests, refused, used in rows
    ]
