"""The write side's PostgreSQL adapters: submissions and tokens, posted updates, and reads of the Open311 view.

Writes go to `gateway.submissions`, `gateway.tokens` and `gateway.posted_updates` (migration gateway_0002). Reads
of partners, services, jurisdictions and requests use the view the consumers fold from the log (gateway_0001).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox
from civicloop_events.payloads import RequestStatus, ServiceAttribute, ServiceType
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.adapters.open311_queries import KnownJurisdictions
from civicloop_gateway.adapters.view_positions import FoldedView
from civicloop_gateway.domain.jurisdictions import (
    JurisdictionMissing,
    JurisdictionNotFound,
    resolve_jurisdiction,
)
from civicloop_gateway.domain.submit_errors import BadRequest, NotFound
from civicloop_gateway.domain.submit_record import LogPosition, Submission, SubmissionState
from civicloop_gateway.domain.submit_validation import ServiceEntry
from civicloop_gateway.service_layer.submit_ports import (
    Catalogue,
    Jurisdictions,
    KnownRequest,
    PartnerKey,
    Partners,
    RequestNumberTaken,
    Requests,
    RequestView,
    StoredUpdate,
    Submissions,
    Updates,
)

REQUEST_NUMBER_UNIQUE = "submissions_request_number_key"
# Both tables are outboxes (`civicloop_events.outbox`): the row and its pending events are inserted here, and held,
# published and marked by the outbox adapter. Publishing a batch submission resolves its token (TK-01).
SUBMISSIONS_OUTBOX = OutboxTable(
    schema="gateway",
    table="submissions",
    key="event_id",
    also_on_publish="update gateway.tokens t set service_request_id = s.request_number from gateway.submissions s"
    " where s.event_id = %s and t.token = s.token",
)
UPDATES_OUTBOX = OutboxTable(
    schema="gateway", table="posted_updates", key="update_id", events="events", positions=False
)
_SUBMISSION_COLUMNS = (
    "event_id, digest, jurisdiction_id, client_id, request_number, service_type, token, service_notice,"
    " event::text as event_json, state, partition, kafka_offset, created_at"
)
_UPDATE_COLUMNS = "update_id, jurisdiction_id, client_id, partner_update_id, service_request_id, digest, events, state, created_at"


def _submission(row: dict[str, Any]) -> Submission:
    position = None if row["kafka_offset"] is None else LogPosition(row["partition"], row["kafka_offset"])
    return Submission(
        digest=row["digest"],
        jurisdiction_id=row["jurisdiction_id"],
        client_id=row["client_id"],
        request_number=row["request_number"],
        event_id=row["event_id"],
        service_type=ServiceType(row["service_type"]),
        event_json=row["event_json"],
        token=row["token"],
        service_notice=row["service_notice"],
        state=SubmissionState(row["state"]),
        position=position,
        created_at=row["created_at"],
    )


class PostgresSubmissions(PostgresOutbox, Submissions):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, SUBMISSIONS_OUTBOX)

    async def recent(self, digest: str, *, window: timedelta) -> Submission | None:
        async with self.pool.connection() as conn:
            return await self._recent(conn, digest, window)

    @staticmethod
    async def _recent(
        conn: psycopg.AsyncConnection[Any], digest: str, window: timedelta
    ) -> Submission | None:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            f"select {_SUBMISSION_COLUMNS} from gateway.submissions"
            " where digest = %s and created_at > now() - %s order by created_at desc limit 1",
            (digest, window),
        )
        row = await cur.fetchone()
        return _submission(row) if row else None

    async def add(self, submission: Submission, *, window: timedelta) -> Submission | None:
        try:
            # In pipeline mode: the begin, the lock, the read of an earlier submission and whether a request on the
            # log has the number go in one round trip, the inserts and the commit in another.
            async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
                # Concurrent identical POSTs queue here; the first stores, the others find it.
                await conn.execute(
                    "select pg_advisory_xact_lock(hashtextextended(%s, 0))", (submission.digest,)
                )
                on_the_log = await conn.execute(
                    "select 1 from gateway.requests where service_request_id = %s",
                    (submission.request_number,),
                )
                earlier = await self._recent(conn, submission.digest, window)
                if earlier is not None:
                    return earlier
                if await on_the_log.fetchone() is not None:
                    raise RequestNumberTaken(submission.request_number)
                await conn.execute(
                    "insert into gateway.submissions (event_id, digest, jurisdiction_id, client_id, request_number,"
                    " service_type, token, service_notice, event, state)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s::json, 'pending')",
                    (
                        submission.event_id,
                        submission.digest,
                        submission.jurisdiction_id,
                        submission.client_id,
                        submission.request_number,
                        submission.service_type.value,
                        submission.token,
                        submission.service_notice,
                        submission.event_json,
                    ),
                )
                if submission.token is not None:
                    await conn.execute(
                        "insert into gateway.tokens (token, jurisdiction_id, service_request_id) values (%s, %s, null)",
                        (submission.token, submission.jurisdiction_id),
                    )
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name == REQUEST_NUMBER_UNIQUE:
                raise RequestNumberTaken(submission.request_number) from exc
            raise
        return None

    async def submitted_by(self, request_number: str) -> tuple[str, str] | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select jurisdiction_id, client_id from gateway.submissions"
                " where request_number = %s and state = 'published'",
                (request_number,),
            )
            row = await cur.fetchone()
        return (row[0], row[1]) if row else None


def _stored_update(row: dict[str, Any]) -> StoredUpdate:
    return StoredUpdate(
        update_id=row["update_id"],
        jurisdiction_id=row["jurisdiction_id"],
        client_id=row["client_id"],
        partner_update_id=row["partner_update_id"],
        service_request_id=row["service_request_id"],
        digest=row["digest"],
        events_json=list(row["events"]),
        published=row["state"] == "published",
        created_at=row["created_at"],
    )


class PostgresUpdates(PostgresOutbox, Updates):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, UPDATES_OUTBOX)

    async def by_partner_id(
        self, jurisdiction_id: str, client_id: str, partner_update_id: str
    ) -> StoredUpdate | None:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"select {_UPDATE_COLUMNS} from gateway.posted_updates"
                " where jurisdiction_id = %s and client_id = %s and partner_update_id = %s",
                (jurisdiction_id, client_id, partner_update_id),
            )
            row = await cur.fetchone()
        return _stored_update(row) if row else None

    async def add(self, update: StoredUpdate) -> StoredUpdate | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "insert into gateway.posted_updates (update_id, jurisdiction_id, client_id, partner_update_id,"
                " service_request_id, digest, events, state) values (%s, %s, %s, %s, %s, %s, %s, 'pending')"
                " on conflict (jurisdiction_id, client_id, partner_update_id) do nothing",
                (
                    update.update_id,
                    update.jurisdiction_id,
                    update.client_id,
                    update.partner_update_id,
                    update.service_request_id,
                    update.digest,
                    update.events_json,
                ),
            )
        if cur.rowcount == 1:
            return None
        if update.partner_update_id is None:  # only a partner's id can conflict
            raise RuntimeError("an update without a partner id conflicted")
        return await self.by_partner_id(update.jurisdiction_id, update.client_id, update.partner_update_id)


class PostgresPartners(Partners):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def by_digest(self, key_sha256: str) -> list[PartnerKey]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select jurisdiction_id, client_id, name, key_id, revoked_at is not null"
                " from gateway.partners where key_sha256 = %s",
                (key_sha256,),
            )
            rows = await cur.fetchall()
        return [PartnerKey(j, c, n, k, revoked) for j, c, n, k, revoked in rows]

    async def record_use(self, key: PartnerKey, *, let_in: bool) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "insert into gateway.partner_key_usage as u"
                " (jurisdiction_id, client_id, key_id, requests, refused, last_used_at)"
                " values (%(j)s, %(c)s, %(k)s, %(in)s, %(out)s, now())"
                " on conflict (jurisdiction_id, client_id, key_id) do update set"
                " requests = u.requests + excluded.requests, refused = u.refused + excluded.refused,"
                " last_used_at = greatest(u.last_used_at, excluded.last_used_at)",
                {
                    "j": key.jurisdiction_id,
                    "c": key.client_id,
                    "k": key.key_id,
                    "in": int(let_in),
                    "out": int(not let_in),
                },
            )


class PostgresCatalogue(Catalogue):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, jurisdiction_id: str, service_code: str) -> ServiceEntry | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select type, active, attributes from gateway.services"
                " where jurisdiction_id = %s and service_code = %s",
                (jurisdiction_id, service_code),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        kind, active, attributes = row
        return ServiceEntry(
            jurisdiction_id=jurisdiction_id,
            service_code=service_code,
            type=ServiceType(kind),
            active=active,
            attributes=tuple(ServiceAttribute.model_validate(a) for a in attributes),
        )


class PostgresJurisdictions(Jurisdictions):
    """G-60..G-62 by the read side's rule (`domain/jurisdictions.py`), so reads and writes agree."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        single: bool,
        default_jurisdiction_id: str | None,
        known: KnownJurisdictions | None = None,
    ) -> None:
        self.pool = pool
        self.single = single
        self.default = default_jurisdiction_id
        self._exists = (known or KnownJurisdictions(pool)).exists

    async def resolve(self, given: str | None) -> str:
        try:
            return await resolve_jurisdiction(
                given, single=self.single, default=self.default, exists=self._exists
            )
        except JurisdictionMissing as exc:
            raise BadRequest(f"{exc}.") from None
        except JurisdictionNotFound as exc:
            raise NotFound(f"{exc}.") from None


class PostgresRequests(Requests):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, service_request_id: str) -> KnownRequest | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select jurisdiction_id, civicloop_status, source from gateway.requests where service_request_id = %s",
                (service_request_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        jurisdiction_id, status, source = row
        client = source.removeprefix("open311:") if source.startswith("open311:") else None
        return KnownRequest(service_request_id, jurisdiction_id, RequestStatus(status), submitted_by=client)


class PostgresRequestView(FoldedView, RequestView):
    """Where the Open311 request view's consumer stands, from the positions it stores with its writes."""
