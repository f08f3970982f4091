"""Per body: what is queued, sent, failing, given up, undeliverable (updates), whether it is paused, and how old its oldest queued item is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from civicloop_outbound.service_layer.store import Conn


@dataclass(frozen=True)
class BodyStatus:
    jurisdiction_id: str
    body_id: str
    name: str
    send_method: str
    paused: bool
    paused_reason: str
    queued: int  # waiting to be sent, retrying ones included
    retrying: int  # queued after at least one failed attempt ("failed" in the CLI)
    sent: int
    given_up: int  # state failed: no more automatic retries
    undeliverable: int  # updates the body cannot take (it takes none, or has no id of the request)
    oldest_queued_at: datetime | None
    oldest_queued_age_s: float | None
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["oldest_queued_at"] = self.oldest_queued_at.isoformat() if self.oldest_queued_at else None
        return d


_QUERY = """
select b.jurisdiction_id, b.body_id, b.name, b.send_method, b.paused, b.paused_reason,
       count(q.seq) filter (where q.state = 'queued'),
       count(q.seq) filter (where q.state = 'queued' and q.attempts > 0),
       count(q.seq) filter (where q.state = 'sent'),
       count(q.seq) filter (where q.state = 'failed'),
       count(q.seq) filter (where q.state = 'undeliverable'),
       min(q.enqueued_at) filter (where q.state = 'queued'),
       extract(epoch from now() - min(q.enqueued_at) filter (where q.state = 'queued')),
       (select l.last_error from outbound.outbound_queue l
         where l.jurisdiction_id = b.jurisdiction_id and l.body_id = b.body_id and l.last_error is not null
         order by l.seq desc limit 1)
  from outbound.bodies b
  left join outbound.outbound_queue q on q.jurisdiction_id = b.jurisdiction_id and q.body_id = b.body_id
 where (%(j)s::text is null or b.jurisdiction_id = %(j)s)
 group by b.jurisdiction_id, b.body_id
 order by b.jurisdiction_id, b.body_id"""


async def body_statuses(conn: Conn, jurisdiction_id: str | None = None) -> list[BodyStatus]:
    cur = await conn.execute(_QUERY, {"j": jurisdiction_id})
    statuses = []
    for row in await cur.fetchall():
        status = BodyStatus(*row)
        age_s = status.oldest_queued_age_s  # a Decimal from extract(epoch ...)
        statuses.append(replace(status, oldest_queued_age_s=float(age_s) if age_s is not None else None))
    return statuses


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172_800:
        return f"{s // 3600}h"
    return f"{s // 86_400}d"
