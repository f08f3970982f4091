"""The track view `intake.tracking`, one row per request, folded from `requests.events` by `intake.tracking.v2`.

The contact stays sealed here exactly as it is in the event: the view can check a phone only through the vault, and
erasing the resident's key makes the row untrackable too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import psycopg
from civicloop_events import SealedPersonalData
from civicloop_events.consumer import wait_until_applied
from civicloop_events.payloads import RequestStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.domain.tracking import (
    ExternalReference,
    HistoryEntry,
    HistoryKind,
    PlaceArea,
    TrackedRequest,
)
from civicloop_intake.service_layer.folds import TrackingRows
from civicloop_intake.service_layer.ports import TrackingView

SCHEMA = "intake"
# v2: merges and geo's public placement (migration intake_0003 empties the table for the replay).
TRACKING_CONSUMER = "intake.tracking.v2"


def _entry_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind.value,
        "at": entry.at.isoformat(),
        "status": entry.status.value if entry.status else None,
        "note": entry.note,
        "text": entry.text,
        "body_id": entry.body_id,
        "external_id": entry.external_id,
        "referred_to": entry.referred_to,
        "starts_at": entry.starts_at.isoformat() if entry.starts_at else None,
        "duration_minutes": entry.duration_minutes,
        "address": entry.address,
    }


def _entry(data: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        kind=HistoryKind(data["kind"]),
        at=datetime.fromisoformat(data["at"]),
        status=RequestStatus(data["status"]) if data.get("status") else None,
        note=data.get("note"),
        text=data.get("text"),
        body_id=data.get("body_id"),
        external_id=data.get("external_id"),
        referred_to=data.get("referred_to"),
        starts_at=datetime.fromisoformat(data["starts_at"]) if data.get("starts_at") else None,
        duration_minutes=data.get("duration_minutes"),
        address=data.get("address"),
    )


def tracked_from_row(row: dict[str, Any]) -> TrackedRequest:
    return TrackedRequest(
        request_number=row["request_number"],
        jurisdiction_id=row["jurisdiction_id"],
        service_code=row["service_code"],
        description=row["description"],
        status=RequestStatus(row["status"]),
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
        contact=SealedPersonalData.model_validate(row["contact"]) if row["contact"] else None,
        history=tuple(_entry(e) for e in row["history"]),
        external_references=tuple(
            ExternalReference(r["body_id"], r["external_id"]) for r in row["external_references"]
        ),
        merged_into=row["merged_into"],
        public_address=row["public_address"],
        service_areas=tuple(PlaceArea(a["kind"], a["name"]) for a in row["service_areas"]),
        link_source=row["link_source"],
    )


async def _load(
    conn: psycopg.AsyncConnection[Any], request_number: str, *, for_update: bool
) -> TrackedRequest | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "select * from intake.tracking where request_number = %s" + (" for update" if for_update else ""),
        (request_number,),
    )
    row = await cur.fetchone()
    return tracked_from_row(row) if row else None


class PostgresTrackingView(TrackingView):
    def __init__(self, pool: AsyncConnectionPool, *, topic: str, consumer: str = TRACKING_CONSUMER) -> None:
        self.pool = pool
        self.topic = topic
        self.consumer = consumer

    async def get(self, request_number: str) -> TrackedRequest | None:
        async with self.pool.connection() as conn:
            return await _load(conn, request_number, for_update=False)

    async def wait_until_applied(self, position: LogPosition, *, timeout_s: float) -> bool:
        return await wait_until_applied(
            self.pool,
            schema=SCHEMA,
            consumer=self.consumer,
            topic=self.topic,
            partition=position.partition,
            offset=position.offset,
            timeout_s=timeout_s,
        )


class PostgresTrackingRows(TrackingRows):
    """The track view's rows in the consumer runner's transaction: a batch's rows read in one query, written in one
    statement."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, TrackedRequest]:
        cur = self.conn.cursor(row_factory=dict_row)
        await cur.execute(
            "select * from intake.tracking where request_number = any(%s) order by request_number for update",
            (list(request_numbers),),
        )
        return {row["request_number"]: tracked_from_row(row) for row in await cur.fetchall()}

    async def save(self, states: Sequence[TrackedRequest]) -> None:
        if not states:
            return
        await self.conn.execute(
            "insert into intake.tracking (request_number, jurisdiction_id, service_code, description, status, contact,"
            " submitted_at, updated_at, history, external_references, merged_into, public_address, service_areas,"
            " link_source)"
            " select * from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::jsonb[],"
            " %s::timestamptz[], %s::timestamptz[], %s::jsonb[], %s::jsonb[], %s::text[], %s::text[], %s::jsonb[],"
            " %s::text[])"
            " on conflict (request_number) do update set status = excluded.status, updated_at = excluded.updated_at,"
            " service_code = excluded.service_code,"
            " history = excluded.history, external_references = excluded.external_references,"
            " merged_into = excluded.merged_into, public_address = excluded.public_address,"
            " service_areas = excluded.service_areas",
            (
                [s.request_number for s in states],
                [s.jurisdiction_id for s in states],
                [s.service_code for s in states],
                [s.description for s in states],
                [s.status.value for s in states],
                [Jsonb(s.contact.model_dump(mode="json")) if s.contact else None for s in states],
                [s.submitted_at for s in states],
                [s.updated_at for s in states],
                [Jsonb([_entry_json(e) for e in s.history]) for s in states],
                [
                    Jsonb(
                        [{"body_id": r.body_id, "external_id": r.external_id} for r in s.external_references]
                    )
                    for s in states
                ],
                [s.merged_into for s in states],
                [s.public_address for s in states],
                [Jsonb([{"kind": a.kind, "name": a.name} for a in s.service_areas]) for s in states],
                [s.link_source for s in states],
            ),
        )


async def reports_by_link_source(
    pool: AsyncConnectionPool, jurisdiction_id: str, *, since: datetime | None = None
) -> list[tuple[str, int, datetime]]:
    """How many requests each link source brought in a jurisdiction (since a moment, if given), most first, with
    the latest one's submission time: which posters work."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select link_source, count(*), max(submitted_at) from intake.tracking"
            " where jurisdiction_id = %s and link_source is not null"
            " and (%s::timestamptz is null or submitted_at >= %s::timestamptz)"
            " group by link_source order by count(*) desc, link_source",
            (jurisdiction_id, since, since),
        )
        return [(row[0], row[1], row[2]) for row in await cur.fetchall()]
