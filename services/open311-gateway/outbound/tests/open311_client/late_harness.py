"""The poller's side of the lateness tests: a body on the late server (`late_server`), its poller on the server's
virtual clock, rounds of polling, and what reached the log and the database."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_events.payloads import BodyDefined, Open311Connection, RequestImported, SendMethod
from civicloop_events.topics import Topics
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollReport
from civicloop_outbound.domain.ports import BodyRecord
from late_server import LateState
from o311client_harness import define_body, read_events

CODES = ("POTHOLE", "GRAFFITI", "INTERNAL")
T0 = datetime.now(UTC).replace(microsecond=0)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def request_row(
    sr_id: str,
    requested: datetime,
    *,
    updated: datetime | None = None,
    status: str = "open",
    code: str = "POTHOLE",
    notes: str | None = None,
    description: str = "Reported at the counter",
) -> dict[str, Any]:
    return {
        "service_request_id": sr_id,
        "status": status,
        "status_notes": notes,
        "service_code": code,
        "description": description,
        "requested_datetime": requested,
        "updated_datetime": updated or requested,
        "lat": 34.0732,
        "long": -118.2668,
    }


def update_row(update_id: str, sr_id: str, when: datetime, status: str, description: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "service_request_id": sr_id,
        "status": status,
        "updated_datetime": when,
        "description": description,
        "media_url": "",
    }


@dataclass
class World:
    """One body on the late server, its poller on the server's clock, and what it published."""

    state: LateState
    poller: Open311Poller
    jurisdiction: str
    body: BodyRecord
    env: tuple[str, Topics]  # the broker and this run's topics

    async def round(self, advance: timedelta = QUARTER) -> PollReport:
        """Move the clock on, then one forced round of polling of this body's jurisdiction."""
        self.state.now = self.state.clock() + advance
        reports = await self.poller.run_once(force=True, jurisdiction_id=self.jurisdiction)
        report = reports[f"{self.jurisdiction}/{self.body.body_id}"]
        assert not [r for r in report.skipped if r.startswith("error")], report.skipped
        return report

    async def imported(self) -> Counter[str]:
        """How many times each back-end id was imported, on the log."""
        kafka, topics = self.env
        events = await read_events(kafka, topics, types=(RequestImported.event_type,))
        return Counter(
            e.payload.external_id
            for e in events
            if e.jurisdiction_id == self.jurisdiction and e.payload.body_id == self.body.body_id
        )

    async def request_of(self, external_id: str) -> str:
        async with self.poller.pool.connection() as conn:
            cur = await conn.execute(
                "select request_id from outbound.external_refs where jurisdiction_id = %s and body_id = %s"
                " and external_id = %s",
                (self.jurisdiction, self.body.body_id, external_id),
            )
            row = await cur.fetchone()
        assert row is not None, f"{external_id} is not known"
        return row[0]

    async def events_of(self, external_id: str):
        kafka, topics = self.env
        return await read_events(kafka, topics, request_id=await self.request_of(external_id))

    async def kept(self) -> dict[str, tuple[str, str]]:
        async with self.poller.pool.connection() as conn:
            cur = await conn.execute(
                "select update_id, state, reason from outbound.backend_unknown_updates where jurisdiction_id = %s"
                " and body_id = %s",
                (self.jurisdiction, self.body.body_id),
            )
            return {u: (s, r) for u, s, r in await cur.fetchall()}


async def world(
    late,
    o311_pool,
    o311_http,
    o311_producer,
    o311_topics,
    kafka_bootstrap,
    *,
    updates_method: str,
    codes: Sequence[str] = CODES,
    import_requests: bool = True,
) -> World:
    state, url = late
    jurisdiction = f"late-{uuid.uuid4().hex[:6]}.example.gov"
    definition = BodyDefined(
        body_id="county-works",
        name="County Works",
        send_method=SendMethod.open311,
        service_codes=list(codes),
        open311=Open311Connection(
            endpoint=f"{url}/v2",
            format="json",
            updates_method=updates_method,
            import_requests=import_requests,
            import_exclude_service_codes=["INTERNAL"],
            poll_interval_s=900,
        ),
    )
    body = await define_body(o311_pool, jurisdiction, definition)
    poller = Open311Poller(o311_pool, o311_producer, o311_http, clock=state.clock)
    return World(state, poller, jurisdiction, body, (kafka_bootstrap, o311_topics))
