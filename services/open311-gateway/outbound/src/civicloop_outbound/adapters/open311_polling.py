"""Hearing back from Open311 back-ends: batch tokens, status updates, and requests created in the back-end.

* Tokens (PR-12, §10.4): each pending token is polled with exponential back-off up to a bounded number of tries;
  the id, once it arrives, becomes `ExternalReferenceAssigned`; a token given up becomes `SendFailed` (no retry),
  so agents see it.
* Updates (§10.7): per body with an `updates_method`, every `poll_interval_s` over [last window end - overlap, now],
  plus a mop-up over the last `mopup_window_h` once a day: `servicerequestupdates`, or `GET requests` with
  `updated_after`, or a date window of `GET requests`. Each update is applied once (`outbound.backend_updates_seen`):
  `BackendUpdateReceived` (with the agency it names), and `StatusChanged` when the mapped status differs from the
  last one heard, or a public `CommentAdded` when only the note is new.
* Import: `GET requests` over date windows (≤ 90 days each, RQ-03) for the history, then every poll; a request is
  imported once (`outbound.backend_imports`) unless it came from CivicLoop, its category is excluded or unmatched, or
  it has no usable place (an implausible point is flagged and dropped, its address kept).
* Lateness: the import re-reads the body's `import_lookback_h` of creation dates hourly and, where the back-end can,
  reads the requests updated since the last import; an update about a request not known yet is kept (`adapters/unknown_updates.py`), its
  request fetched by id and imported, and the update then settled once (`domain/late_imports.py`).
* Every list is read without silent loss (`open311_lists`): by pages where the back-end honours them, else a capped
  answer's window is read again in halves; a watermark moves only as far as the range was read whole.

Every event is published inside the database transaction that records it as done, with an event id derived from
what it records, so a crash between publishing and committing republishes the same event (which consumers drop)
instead of a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from civicloop_events import Actor, ActorKind, Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    EventPayload,
    ExternalReferenceAssigned,
    Open311Connection,
    RequestImported,
    RequestStatus,
    SendFailed,
    SendMethod,
)
from civicloop_events.producer import EventProducer
from civicloop_events.tasks import raise_if_cancelled
from civicloop_open311.wire import RemoteRequest, RemoteUpdate
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.adapters import unknown_updates as unknown
from civicloop_outbound.adapters.import_numbers import free_import_number
from civicloop_outbound.adapters.open311_client import (
    CREATED_REQUESTS,
    REQUEST_UPDATES,
    UPDATED_REQUESTS,
    ListKind,
    Open311Client,
    Open311Failure,
    Open311Permanent,
)
from civicloop_outbound.adapters.open311_lists import Chunk, ListWalk, load_memory, save_memory
from civicloop_outbound.adapters.open311_sender import remember_reference
from civicloop_outbound.adapters.poll_streaks import (
    BodyKey,
    nudge_acted_on,
    pending_nudge,
    poll_error_kind,
    record_round,
)
from civicloop_outbound.domain import late_imports as late
from civicloop_outbound.domain import open311_mapping as mapping
from civicloop_outbound.domain import open311_paging as paging
from civicloop_outbound.domain.ports import BodyRecord
from civicloop_outbound.service_layer.store import load_body

log = logging.getLogger("civicloop.outbound.open311_client")
_NAMESPACE = uuid.UUID("0b8e6f1e-8d7c-5a4b-9e2f-3c1d0a9b8f71")
MAX_WINDOW = timedelta(days=90)
TOKEN_CLOCK_SKEW = timedelta(
    hours=1
)  # between our clock (a token's creation) and a back-end's (an update's time)


def event_id(kind: str, *parts: object) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "\x1f".join([kind, *map(str, parts)]))


def backend_actor(body_id: str) -> Actor:
    return Actor(kind=ActorKind.system, id=f"backend:{body_id}")


def backend_source(body_id: str) -> str:
    return f"backend:{body_id}"


def backend_event(
    payload: EventPayload,
    *,
    request_id: str,
    jurisdiction_id: str,
    body_id: str,
    key: tuple[str, object],
    occurred_at: datetime | None = None,
    causation: Event[Any] | None = None,
) -> Event[Any]:
    """An event of what a body's back-end did, in the body's name; its id derives from `key` (what it records: a
    kind and that record's id) with the body, so publishing it again after a crash gives the same event."""
    kind, record = key
    return Event.create(
        payload,
        request_id=request_id,
        jurisdiction_id=jurisdiction_id,
        actor=backend_actor(body_id),
        source=backend_source(body_id),
        occurred_at=occurred_at,
        causation=causation,
        event_id=event_id(kind, jurisdiction_id, body_id, record),
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollerConfig:
    overlap: timedelta = timedelta(minutes=5)
    token_max_attempts: int = 12
    token_backoff_initial_s: float = 2.0
    token_backoff_max_s: float = 900.0
    import_fallback_service_code: str | None = None
    import_history_days: int = 0  # 0: the first import poll looks back one mop-up window only
    # how often the ongoing import re-reads a body's `import_lookback_h` of creation dates (between, it resumes)
    import_lookback_every: timedelta = timedelta(hours=1)
    # Streaks of failing polls (`adapters/poll_streaks.py`): announced on this topic (`jurisdiction.config`) after
    # this many failed rounds of a body in a row; None keeps no streaks (a poller without a config topic).
    streaks_topic: str | None = None
    poll_failing_after: int = 3
    publish_timeout_s: float = 10.0


async def moved_elsewhere(conn: Any, request_id: str, body_id: str) -> bool:
    """Whether the request's latest delivery went to another body than `body_id` (a category change moved it)."""
    cur = await conn.execute(
        "select body_id from outbound.outbound_queue where request_id = %s and purpose = 'deliver'"
        " order by seq desc limit 1",
        (request_id,),
    )
    row = await cur.fetchone()
    return row is not None and row[0] != body_id


@dataclass
class PollReport:
    fetched: int = 0
    applied: int = 0
    status_changes: int = 0
    notes: int = 0  # note-only updates shown as public comments
    duplicates: int = 0
    unknown_request: int = 0
    imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    # How far the range was read whole (a watermark may move there), and the windows whose answers were capped
    # and could not be read whole (a watermark stops before the first one).
    read_to: datetime | None = None
    capped: list[tuple[datetime, datetime]] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def advance(self, chunk: Chunk) -> None:
        """A chunk of a walk is done: read whole, the watermark may follow it, unless a capped one came before."""
        if not chunk.complete:
            self.capped.append((chunk.start, chunk.end))
        elif not self.capped:
            self.read_to = chunk.end

    def add(self, other: PollReport) -> None:
        """Another read's counts and capped windows, into this report (`read_to` stays this report's own)."""
        for name in (
            "fetched",
            "applied",
            "status_changes",
            "notes",
            "duplicates",
            "unknown_request",
            "imported",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n
        self.capped.extend(other.capped)

    def capped_error(self) -> str | None:
        if not self.capped:
            return None
        start, end = self.capped[0]
        return (
            f"{len(self.capped)} capped answer(s) could not be read whole, the first between {start.isoformat()}"
            f" and {end.isoformat()}: raise page_size/answer_cap or ask the back-end for paging"
        )


async def open311_bodies(pool: AsyncConnectionPool, jurisdiction_id: str | None = None) -> list[BodyRecord]:
    """Every body with an Open311 connection (whatever its send method: a body may be heard from without being
    sent to by Open311), paused or not (pausing stops sending, not hearing back)."""
    from civicloop_events.payloads import BodyDefined

    async with pool.connection() as conn:
        cur = await conn.execute(
            "select jurisdiction_id, definition, paused from outbound.bodies"
            " where definition -> 'open311' is not null and jsonb_typeof(definition -> 'open311') = 'object'"
            " and (%s::text is null or jurisdiction_id = %s) order by jurisdiction_id, body_id",
            (jurisdiction_id, jurisdiction_id),
        )
        rows = await cur.fetchall()
    return [BodyRecord(j, BodyDefined.model_validate(d), paused) for j, d, paused in rows]


class Open311Poller:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        producer: EventProducer,
        http: httpx.AsyncClient,
        *,
        config: PollerConfig | None = None,
        environ: dict[str, str] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.http = http
        self.config = config or PollerConfig()
        self.environ = environ
        self.clock = clock

    def client(self, connection: Open311Connection) -> Open311Client:
        return Open311Client(connection, self.http, environ=self.environ)

    # -- tokens ---------------------------------------------------------------------------------------------------
    async def poll_tokens(self, outcomes: dict[BodyKey, str | None] | None = None) -> int:
        """Poll every due token once; returns how many were resolved. `outcomes` gets, per body whose tokens were
        polled, whether its back-end answered (None) or the kind of failure (a token it does not know is an
        answer)."""
        now = self.clock()
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select jurisdiction_id, body_id, token, request_id, attempts from outbound.open311_tokens"
                " where state = 'pending' and next_poll_at <= %s order by next_poll_at limit 200",
                (now,),
            )
            due = await cur.fetchall()
        resolved = 0
        for jurisdiction_id, body_id, token, request_id, attempts in due:
            async with self.pool.connection() as conn:
                body = await load_body(conn, jurisdiction_id, body_id)
            if body is None or body.definition.open311 is None:
                continue
            error: str | None = None
            external_id: str | None = None
            try:
                external_id = await self.client(body.definition.open311).resolve_token(token)
            except Open311Permanent as exc:
                error, attempts = (
                    str(exc),
                    self.config.token_max_attempts,
                )  # unknown token: no use asking again
            except Open311Failure as exc:
                error = str(exc)
                if outcomes is not None:
                    outcomes[(jurisdiction_id, body_id)] = poll_error_kind(exc)
            if outcomes is not None:
                outcomes.setdefault((jurisdiction_id, body_id), None)
            attempts += 1
            async with self.pool.connection() as conn, conn.transaction():
                if external_id:
                    await self.producer.publish(
                        backend_event(
                            ExternalReferenceAssigned(body_id=body_id, external_id=external_id),
                            request_id=request_id,
                            jurisdiction_id=jurisdiction_id,
                            body_id=body_id,
                            key=("token", token),
                        )
                    )
                    await remember_reference(conn, jurisdiction_id, body_id, external_id, request_id)
                    await conn.execute(
                        "update outbound.open311_tokens set state = 'resolved', external_id = %s, attempts = %s,"
                        " last_error = null where jurisdiction_id = %s and body_id = %s and token = %s",
                        (external_id, attempts, jurisdiction_id, body_id, token),
                    )
                    resolved += 1
                elif attempts >= self.config.token_max_attempts:
                    why = error or "the back-end never gave a service_request_id for the token"
                    await self.producer.publish(
                        backend_event(
                            SendFailed(
                                body_id=body_id,
                                method=SendMethod.open311,
                                attempt=attempts,
                                error=f"token {token}: {why}"[:2000],
                                retry_at=None,
                            ),
                            request_id=request_id,
                            jurisdiction_id=jurisdiction_id,
                            body_id=body_id,
                            key=("token-given-up", token),
                        )
                    )
                    await conn.execute(
                        "update outbound.open311_tokens set state = 'given_up', attempts = %s, last_error = %s"
                        " where jurisdiction_id = %s and body_id = %s and token = %s",
                        (attempts, why[:2000], jurisdiction_id, body_id, token),
                    )
                else:
                    delay = min(
                        self.config.token_backoff_initial_s * 2 ** (attempts - 1),
                        self.config.token_backoff_max_s,
                    )
                    await conn.execute(
                        "update outbound.open311_tokens set attempts = %s, next_poll_at = %s, last_error = %s"
                        " where jurisdiction_id = %s and body_id = %s and token = %s",
                        (attempts, now + timedelta(seconds=delay), error, jurisdiction_id, body_id, token),
                    )
        return resolved

    # -- poll state -----------------------------------------------------------------------------------------------
    async def poll_state(self, body: BodyRecord, kind: str) -> tuple[datetime | None, datetime | None]:
        """(end of the last window read, when the last poll was tried) of one kind of poll of one body."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select window_end, polled_at from outbound.backend_poll_state where jurisdiction_id = %s"
                " and body_id = %s and kind = %s",
                (body.jurisdiction_id, body.body_id, kind),
            )
            row = await cur.fetchone()
        return (row[0], row[1]) if row else (None, None)

    async def window_end(self, body: BodyRecord, kind: str) -> datetime | None:
        return (await self.poll_state(body, kind))[0]

    async def _store_window(
        self,
        body: BodyRecord,
        kind: str,
        end: datetime,
        error: str | None = None,
        *,
        read_to: datetime | None = None,
    ) -> None:
        """A poll's outcome: success moves the window's end; a failure keeps it (or sets the start it failed at)
        and records the error and the time tried, so a back-end that is down is asked again only when due. A
        failure after part of the range was read whole (`read_to`) moves the end there, not further."""
        async with self.pool.connection() as conn:
            if error is None or read_to is not None:
                await conn.execute(
                    """insert into outbound.backend_poll_state (jurisdiction_id, body_id, kind, window_end, polled_at,
                                                               last_error)
                       values (%s, %s, %s, %s, %s, %s) on conflict (jurisdiction_id, body_id, kind)
                       do update set window_end = excluded.window_end, polled_at = excluded.polled_at,
                                     last_error = excluded.last_error""",
                    (
                        body.jurisdiction_id,
                        body.body_id,
                        kind,
                        end if read_to is None else read_to,
                        self.clock(),
                        error and error[:2000],
                    ),
                )
            else:
                await conn.execute(
                    """insert into outbound.backend_poll_state (jurisdiction_id, body_id, kind, window_end, polled_at,
                                                               last_error)
                       values (%s, %s, %s, %s, %s, %s) on conflict (jurisdiction_id, body_id, kind)
                       do update set polled_at = excluded.polled_at, last_error = excluded.last_error""",
                    (body.jurisdiction_id, body.body_id, kind, end, self.clock(), (error or "")[:2000]),
                )

    # -- updates --------------------------------------------------------------------------------------------------
    async def walk(
        self,
        body: BodyRecord,
        kind: ListKind,
        start: datetime,
        end: datetime,
        on_chunk: Callable[[Chunk], Awaitable[None]],
    ) -> None:
        """Read one list of a body's back-end over [start, end] chunk by chunk, in date order, each read whole (or
        marked capped); what the walk learnt about the list is kept, even when it fails half-way."""
        connection = body.open311_connection()
        memory = await load_memory(self.pool, body.jurisdiction_id, body.body_id, kind)
        walk = ListWalk(self.client(connection), kind, memory)
        try:
            async for chunk in walk.chunks(start, end):
                await on_chunk(chunk)
        finally:
            if walk.memory != memory:
                await save_memory(self.pool, body.jurisdiction_id, body.body_id, kind, walk.memory)

    async def fetch_updates(
        self,
        body: BodyRecord,
        start: datetime,
        end: datetime,
        on_updates: Callable[[Chunk], Awaitable[None]],
    ) -> None:
        """The updates of [start, end] by the body's `updates_method`, chunk by chunk in date order (a chunk's rows
        are `RemoteUpdate`s, synthesised from request rows where the method reads `GET requests`)."""
        method = body.open311_connection().updates_method
        if method == "servicerequestupdates":
            await self.walk(body, REQUEST_UPDATES, start, end, on_updates)
            return
        if method not in ("requests_updated_after", "requests_window"):
            return

        async def as_updates(chunk: Chunk) -> None:
            chunk.rows = [u for u in map(mapping.synthetic_update, chunk.rows) if u is not None]
            await on_updates(chunk)

        kind = UPDATED_REQUESTS if method == "requests_updated_after" else CREATED_REQUESTS
        await self.walk(body, kind, start, end, as_updates)

    async def poll_updates(self, body: BodyRecord, *, mopup: bool = False) -> PollReport:
        """One poll of one body: the window since the last one (or the mop-up window), applied and recorded.

        The window's end moves only as far as the range was read whole: after a failure half-way, to the end of the
        last chunk read; past a capped answer that cannot be read whole, never (the error says where it is).
        """
        connection = body.definition.open311
        report = PollReport()
        if connection is None or connection.updates_method == "none":
            return report
        now = self.clock()
        kind = "mopup" if mopup else "updates"
        last = await self.window_end(body, "updates")
        if mopup or last is None:
            start = now - timedelta(hours=connection.mopup_window_h)
        else:
            start = last - self.config.overlap  # resumes where the last poll (even before a restart) stopped
        if connection.updates_method == "requests_window":
            start = min(
                start, now - MAX_WINDOW
            )  # requests are found by creation date: look back the whole window

        async def apply(chunk: Chunk) -> None:
            report.fetched += len(chunk.rows)
            for update in sorted(chunk.rows, key=lambda u: u.updated_datetime):
                await self.apply_update(body, update, report)
            report.advance(chunk)

        try:
            await self.fetch_updates(body, start, now, apply)
        except Open311Failure as exc:
            await self._store_window(body, kind, last or start, error=str(exc), read_to=report.read_to)
            raise
        if report.capped:
            await self._store_window(
                body,
                kind,
                last or start,
                error=report.capped_error(),
                read_to=report.read_to or last or start,
            )
        else:
            await self._store_window(body, kind, now)
        return report

    async def apply_update(self, body: BodyRecord, update: RemoteUpdate, report: PollReport) -> None:
        connection = body.open311_connection()
        j, b = body.jurisdiction_id, body.body_id
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "select request_id, last_status, last_note, last_heard_at from outbound.external_refs"
                " where jurisdiction_id = %s and body_id = %s and external_id = %s for update",
                (j, b, update.service_request_id),
            )
            ref = await cur.fetchone()
            if ref is None:
                # not known (yet): kept, so that the import brings the request in (or the batch token of a request
                # CivicLoop sent resolves) and the update is then applied once
                if connection.import_requests or await unknown.token_pending_since(
                    conn, j, b, update.updated_datetime
                ):
                    await unknown.remember_unknown_update(conn, j, b, update)
                report.unknown_request += 1
                return
            request_id, last_status, last_note, last_heard_at = ref
            cur = await conn.execute(
                "insert into outbound.backend_updates_seen (jurisdiction_id, body_id, update_id, external_id)"
                " values (%s, %s, %s, %s) on conflict do nothing",
                (j, b, update.update_id, update.service_request_id),
            )
            if cur.rowcount == 0:
                report.duplicates += 1
                return
            if last_heard_at is not None and update.updated_datetime < last_heard_at:
                # Heard late, but older than what the request already shows: recorded, never set back over it.
                await self.producer.publish(self._received(body, update, request_id))
                report.applied += 1
                report.skip("older than the last update heard (recorded; status and note kept)")
                return
            if await moved_elsewhere(conn, request_id, b):
                # A category change moved the request to another body: what the body it left says is recorded,
                # but no longer changes the request's status or notes (it was told the request moved).
                await self.producer.publish(self._received(body, update, request_id))
                report.applied += 1
                report.skip("the request moved to another body (recorded; status and note kept)")
                return
            await self._publish_update(conn, body, update, request_id, last_status, last_note, report)

    def _received(self, body: BodyRecord, update: RemoteUpdate, request_id: str) -> Event[Any]:
        """`BackendUpdateReceived`: the update as the back-end gave it, before mapping."""
        j, b = body.jurisdiction_id, body.body_id
        return backend_event(
            BackendUpdateReceived(
                body_id=b,
                external_id=update.service_request_id,
                update_id=update.update_id[:200],
                backend_status=update.status[:120],
                external_status_code=(update.external_status_code or None)
                and update.external_status_code[:120],
                description=update.description[:4000],
                media_url=update.media_url,
                updated_at=update.updated_datetime,
                agency_responsible=(update.agency_responsible or None) and update.agency_responsible[:200],
            ),
            request_id=request_id,
            jurisdiction_id=j,
            body_id=b,
            key=("update", update.update_id),
            occurred_at=update.updated_datetime,
        )

    async def _publish_update(
        self,
        conn: Any,
        body: BodyRecord,
        update: RemoteUpdate,
        request_id: str,
        last_status: str | None,
        last_note: str | None,
        report: PollReport,
    ) -> None:
        """An update not applied before, as events: `BackendUpdateReceived` (with the agency it names), then
        `StatusChanged` when the mapped status differs from the last one heard, or else a public `CommentAdded`
        when its note is new (a note-only update shows as a public update); the reference remembers both."""
        connection = body.open311_connection()
        j, b = body.jurisdiction_id, body.body_id
        received = self._received(body, update, request_id)
        await self.producer.publish(received)
        report.applied += 1
        status = mapping.map_status(connection, update.status, update.external_status_code)
        previous = RequestStatus(last_status) if last_status else None
        note = mapping.new_note(update.description, last_note)
        if status is not None and status != (previous or RequestStatus.open):
            await self.producer.publish(
                backend_event(
                    StatusChanged(
                        status=status,
                        previous_status=previous,
                        external_status_code=(update.external_status_code or update.status)[:64] or None,
                        public_note=(
                            update.description.strip()[:4000]
                            or mapping.boilerplate_note(body.definition.name, status)
                        ),
                    ),
                    request_id=request_id,
                    jurisdiction_id=j,
                    body_id=b,
                    key=("status", update.update_id),
                    occurred_at=update.updated_datetime,
                    causation=received,
                )
            )
            report.status_changes += 1
        elif note is not None:
            await self.producer.publish(
                backend_event(
                    CommentAdded(text=note, visibility=CommentVisibility.public),
                    request_id=request_id,
                    jurisdiction_id=j,
                    body_id=b,
                    key=("note", update.update_id),
                    occurred_at=update.updated_datetime,
                    causation=received,
                )
            )
            report.notes += 1
        await conn.execute(
            "update outbound.external_refs set last_status = coalesce(%s, last_status),"
            " last_note = coalesce(%s, last_note), last_heard_at = greatest(last_heard_at, %s)"
            " where jurisdiction_id = %s and body_id = %s and external_id = %s",
            (status and status.value, note, update.updated_datetime, j, b, update.service_request_id),
        )

    # -- import ---------------------------------------------------------------------------------------------------
    async def import_window(
        self, body: BodyRecord, start: datetime, end: datetime, report: PollReport | None = None
    ) -> PollReport:
        """Import the back-end's requests created in [start, end] (any span: cut into ≤ 90-day windows, read by
        pages or smaller windows where answers are capped, each row once). `report.read_to` tells how far the
        range was read whole, also when a failure ends the import half-way (pass `report` in to keep it)."""
        connection = body.definition.open311
        report = report if report is not None else PollReport()
        if connection is None:
            return report

        async def import_rows(chunk: Chunk) -> None:
            report.fetched += len(chunk.rows)
            for row in chunk.rows:
                await self.import_one(body, row, report)
            report.advance(chunk)

        await self.walk(body, CREATED_REQUESTS, start, end, import_rows)
        if report.capped:
            log.error(
                "an import left capped windows unread",
                extra={"body_id": body.body_id, "error": report.capped_error()},
            )
        return report

    async def poll_imports(self, body: BodyRecord) -> PollReport:
        """The ongoing import, up to now: requests created since the last import ended (minus an overlap), and once
        an hour (`import_lookback_every`) never fewer than the last `import_lookback_h`; where the back-end filters
        on `updated_after`, requests updated since the last import too. Either way a request published late (created
        days before it appears) arrives."""
        connection = body.definition.open311
        if connection is None or not connection.import_requests:
            return PollReport()
        now = self.clock()
        last = await self.window_end(body, "import")
        last_look_back = await self.window_end(body, "lookback")
        look_back = late.look_back_due(now, last_look_back, self.config.import_lookback_every)
        first = timedelta(days=self.config.import_history_days) or timedelta(hours=connection.mopup_window_h)
        reads = late.import_windows(
            now,
            last,
            overlap=self.config.overlap,
            lookback=timedelta(hours=connection.import_lookback_h),
            first_look_back=first,
            by_updated=connection.updates_method == "requests_updated_after",
            look_back_due=look_back,
        )
        report = PollReport()
        updated = PollReport() if reads.updated_start is not None else None
        try:
            await self.import_window(body, reads.requested_start, now, report)
            if updated is not None and reads.updated_start is not None:
                await self.import_updated(body, reads.updated_start, now, updated)
        except Open311Failure as exc:
            await self._store_window(
                body,
                "import",
                last or reads.requested_start,
                error=str(exc),
                read_to=_read_to(report, updated),
            )
            raise
        finally:
            if updated is not None:
                report.add(updated)
        if report.capped:  # a window that cannot be read whole: the import's end stays before it
            await self._store_window(
                body,
                "import",
                last or reads.requested_start,
                error=report.capped_error(),
                read_to=_read_to(report, updated) or last or reads.requested_start,
            )
        else:
            await self._store_window(body, "import", now)
        if look_back:
            await self._store_window(body, "lookback", now)
        return report

    async def import_updated(
        self, body: BodyRecord, start: datetime, end: datetime, report: PollReport
    ) -> None:
        """Import the back-end's requests updated in [start, end] (`updated_after`/`updated_before`, read whole like
        every list): those already decided are skipped as such, new ones are imported whatever their creation
        date."""

        async def import_rows(chunk: Chunk) -> None:
            report.fetched += len(chunk.rows)
            for row in chunk.rows:
                await self.import_one(body, row, report)
            report.advance(chunk)

        await self.walk(body, UPDATED_REQUESTS, start, end, import_rows)

    # -- updates heard before their request -------------------------------------------------------------------------
    async def settle_unknown_updates(self, body: BodyRecord, report: PollReport) -> None:
        """Updates kept about requests not known when they were read: applied once the request is known (or found to
        be in its import already); with `import_requests`, their requests are fetched by id and imported first.
        A request that is excluded or unmatched settles its updates as skipped; one CivicLoop sent waits for its
        reference; one the back-end never returns is given up after a few reads. Nothing is fetched forever."""
        connection = body.open311_connection()
        j, b = body.jurisdiction_id, body.body_id
        open_updates = await unknown.open_unknown_updates(self.pool, j, b)
        if not open_updates:
            return
        to_fetch: list[str] = []
        for external_id, updates in open_updates.items():
            if await self._settle_request(body, external_id, updates, report):
                to_fetch.append(external_id)
        if not to_fetch:
            return
        fetched = await self.client(connection).requests_by_id(to_fetch)
        report.fetched += len(fetched)
        for external_id in to_fetch:
            row = fetched.get(external_id)
            if row is not None:
                await self.import_one(body, row, report)
            else:
                await unknown.count_fetch(self.pool, j, b, external_id)
        for external_id in to_fetch:  # imported or skipped now (or one more read counted): settle again
            await self._settle_request(body, external_id, open_updates[external_id], report, fetched=True)

    async def _settle_request(
        self,
        body: BodyRecord,
        external_id: str,
        updates: list[unknown.KeptUpdate],
        report: PollReport,
        *,
        fetched: bool = False,
    ) -> bool:
        """Settle what can be settled of one request's kept updates; True when the request should be fetched."""
        j, b = body.jurisdiction_id, body.body_id
        importing = body.open311_connection().import_requests
        async with self.pool.connection() as conn:
            known = await unknown.what_is_known(conn, j, b, external_id)
        now = self.clock()
        fetch = False
        for one in sorted(updates, key=lambda k: k.update.updated_datetime):
            attempts = (
                await unknown.attempts_of(self.pool, j, b, one.update.update_id) if fetched else one.attempts
            )
            step = late.next_step(
                known, remembered_at=one.remembered_at, now=now, attempts=attempts, importing=importing
            )
            if step is late.Step.apply:
                await self.apply_update(body, one.update, report)
                await unknown.settle(self.pool, j, b, one.update.update_id, late.State.applied)
            elif step is late.Step.cover:
                await unknown.cover(self.pool, j, b, one.update)
            elif step is late.Step.skip:
                await unknown.settle(
                    self.pool, j, b, one.update.update_id, late.State.skipped, known.import_reason
                )
                report.skip("update about a request not imported")
            elif step is late.Step.give_up:
                why = late.give_up_reason(known, importing=importing, attempts=attempts)
                await unknown.settle(self.pool, j, b, one.update.update_id, late.State.given_up, why)
                report.skip(f"update given up: {why}")
                log.warning(
                    "an update about an unknown back-end request was given up",
                    extra={"body_id": b, "reason": why},
                )
            elif step is late.Step.wait and known.import_outcome == "skipped":
                await unknown.mark_ours(self.pool, j, b, one.update.update_id, known.import_reason)
            fetch = fetch or step is late.Step.fetch
        return fetch and not fetched

    async def import_one(self, body: BodyRecord, row: RemoteRequest, report: PollReport) -> None:
        connection = body.open311_connection()
        j, b, ext = body.jurisdiction_id, body.body_id, row.service_request_id
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "select 1 from outbound.backend_imports where jurisdiction_id = %s and body_id = %s"
                " and external_id = %s",
                (j, b, ext),
            )
            if await cur.fetchone():
                report.skip("already decided")
                return
            reason = await self._skip_reason(conn, body, row)
            code, how = mapping.our_service_code(
                row.service_code,
                connection,
                body.definition.service_codes,
                self.config.import_fallback_service_code,
            )
            if reason is None and code is None:
                reason = how
            location, location_flag = mapping.imported_location(row, connection)
            if reason is None and location is None:
                reason = (
                    f"no usable location: {location_flag} and there is no address"
                    if location_flag
                    else "no location (neither lat/long nor an address)"
                )
            if reason is not None:
                await conn.execute(
                    "insert into outbound.backend_imports (jurisdiction_id, body_id, external_id, outcome, reason)"
                    " values (%s, %s, %s, 'skipped', %s) on conflict do nothing",
                    (j, b, ext, reason),
                )
                report.skip(reason)
                return
            if code is None or location is None:  # a missing one always gave a reason above
                raise ValueError(f"import {ext}: no service code or location, yet no reason to skip it")
            number = await free_import_number(conn, j, b, ext)
            when = row.requested_datetime or self.clock()
            import_event = partial(backend_event, request_id=number, jurisdiction_id=j, body_id=b)
            imported = import_event(
                RequestImported(
                    body_id=b,
                    external_id=ext,
                    backend_service_code=row.service_code or "",
                    agency_responsible=(row.agency_responsible or None) and row.agency_responsible[:200],
                    location_flag=location_flag and location_flag[:300],
                ),
                key=("imported", ext),
                occurred_at=when,
            )
            submitted = import_event(
                ServiceRequestSubmitted(
                    service_code=code,
                    description=row.description[:4000],
                    location=location,
                    media_urls=[row.media_url] if row.media_url else [],
                ),
                key=("submitted", ext),
                occurred_at=when,
                causation=imported,
            )
            reference = import_event(
                ExternalReferenceAssigned(body_id=b, external_id=ext),
                key=("reference", ext),
                occurred_at=when,
                causation=imported,
            )
            for event in (imported, submitted, reference):
                await self.producer.publish(event)
            status = mapping.map_status(connection, row.status, row.external_status_code)
            if status is not None and status is not RequestStatus.open:
                await self.producer.publish(
                    import_event(
                        StatusChanged(
                            status=status,
                            previous_status=RequestStatus.open,
                            external_status_code=(row.external_status_code or row.status)[:64],
                            public_note=row.status_notes
                            or mapping.boilerplate_note(body.definition.name, status),
                        ),
                        key=("imported-status", ext),
                        occurred_at=row.updated_datetime or when,
                        causation=imported,
                    )
                )
            await remember_reference(conn, j, b, ext, number, (status or RequestStatus.open).value)
            await conn.execute(  # the row's state stands as of its last change: older updates never set it back
                "update outbound.external_refs set last_heard_at = %s where jurisdiction_id = %s and body_id = %s"
                " and external_id = %s",
                (row.updated_datetime or when, j, b, ext),
            )
            if note := mapping.new_note(
                row.status_notes or "", None
            ):  # an update repeating it is nothing new
                await conn.execute(
                    "update outbound.external_refs set last_note = %s where jurisdiction_id = %s and body_id = %s"
                    " and external_id = %s",
                    (note, j, b, ext),
                )
            await conn.execute(
                "insert into outbound.backend_imports (jurisdiction_id, body_id, external_id, request_id, outcome,"
                " reason) values (%s, %s, %s, %s, 'imported', %s)",
                (j, b, ext, number, f"category by {how}"),
            )
            # The import already stands for the row's current state (an update exists once it has a date).
            if row.updated_datetime is not None and (seen := mapping.synthetic_update(row)) is not None:
                await conn.execute(
                    "insert into outbound.backend_updates_seen (jurisdiction_id, body_id, update_id, external_id,"
                    " by_import) values (%s, %s, %s, %s, true) on conflict do nothing",
                    (j, b, seen.update_id, ext),
                )
            report.imported += 1

    async def _skip_reason(self, conn: Any, body: BodyRecord, row: RemoteRequest) -> str | None:
        connection = body.open311_connection()
        cur = await conn.execute(
            "select 1 from outbound.external_refs where jurisdiction_id = %s and body_id = %s and external_id = %s",
            (body.jurisdiction_id, body.body_id, row.service_request_id),
        )
        if await cur.fetchone():
            return "sent by CivicLoop (known reference)"
        ours = mapping.came_from_us(row, connection)
        if ours:
            return f"sent by CivicLoop ({ours})"
        return mapping.excluded(row.service_code, connection)

    # -- the loop -------------------------------------------------------------------------------------------------
    async def _due(self, body: BodyRecord, kind: str, every: timedelta, now: datetime) -> bool:
        _, tried = await self.poll_state(body, kind)
        return tried is None or now - tried >= every

    async def run_once(
        self, *, force: bool = False, jurisdiction_id: str | None = None
    ) -> dict[str, PollReport]:
        """Tokens, then every due body's updates, import (with the requests updates were heard about before the
        requests themselves) and mop-up; a failing body does not stop the others.

        Due: `poll_interval_s` after the last try of the same kind (a failed try counts, so a back-end that is down
        is not hammered), the mop-up a day after the last one; at once for a body nudged since its last round
        (`jurisdiction.body.poll_nudged`), once. Each polled body's outcome then goes into its streak of failures.
        """
        outcomes: dict[BodyKey, str | None] = {}
        await self.poll_tokens(outcomes)
        reports: dict[str, PollReport] = {}
        now = self.clock()
        for body in await open311_bodies(self.pool, jurisdiction_id):
            connection = body.open311_connection()
            key = f"{body.jurisdiction_id}/{body.body_id}"
            body_key = (body.jurisdiction_id, body.body_id)
            nudged_at = await pending_nudge(self.pool, body_key)
            now_due = force or nudged_at is not None
            every = timedelta(seconds=connection.poll_interval_s)
            report = reports[key] = PollReport()
            polled = attempted = False
            try:
                if connection.updates_method != "none":
                    if now_due or await self._due(body, "updates", every, now):
                        attempted = True
                        report = reports[key] = await self.poll_updates(body)
                        polled = True
                    if await self._due(body, "mopup", timedelta(hours=24), now):
                        attempted = True
                        await self.poll_updates(body, mopup=True)
                if connection.import_requests and (now_due or await self._due(body, "import", every, now)):
                    attempted = True
                    imported = await self.poll_imports(body)
                    await self.settle_unknown_updates(body, imported)
                    report.imported += imported.imported
                    report.fetched += imported.fetched
                    report.applied += imported.applied
                    report.status_changes += imported.status_changes
                    for reason, n in imported.skipped.items():
                        report.skipped[reason] = report.skipped.get(reason, 0) + n
                elif polled and not connection.import_requests:
                    await self.settle_unknown_updates(body, report)  # a reference may have arrived since
            except Open311Failure as exc:
                report.skip(f"error: {exc}")
                log.warning("polling a back-end failed", extra={"body_id": body.body_id, "error": str(exc)})
                outcomes[body_key] = poll_error_kind(exc)
            else:
                if attempted:
                    outcomes.setdefault(body_key, None)  # a token of it that failed this round still counts
            if nudged_at is not None:
                await nudge_acted_on(self.pool, body_key, nudged_at)
        if self.config.streaks_topic is not None:
            await record_round(
                self.pool,
                self.producer,
                topic=self.config.streaks_topic,
                outcomes=outcomes,
                at=now,
                threshold=self.config.poll_failing_after,
                publish_timeout_s=self.config.publish_timeout_s,
            )
        return reports

    async def run_forever(self, stop: asyncio.Event, *, tick_s: float = 5.0) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:
                raise_if_cancelled(exc)
                log.exception("Open311 polling round failed")
            with contextlib.suppress(TimeoutError):  # the tick passed without a stop
                await asyncio.wait_for(stop.wait(), timeout=tick_s)


def _read_to(*reports: PollReport | None) -> datetime | None:
    """How far every read that ran (None: did not run) was read whole; None when one of them read nothing whole."""
    ends = [r.read_to for r in reports if r is not None]
    if any(end is None for end in ends):
        return None
    return min((end for end in ends if end is not None), default=None)


def windows(start: datetime, end: datetime, span: timedelta = MAX_WINDOW) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into consecutive windows no longer than `span` (RQ-03: at most 90 days)."""
    return paging.windows(start, end, span)
