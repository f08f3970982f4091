"""Submissions in `intake.submissions`: the idempotency key is the primary key, the request number is unique.

The table is the outbox of `ServiceRequestSubmitted`: the submission and its pending event are one row, inserted
here (`kept_commands`); `civicloop_events.outbox_postgres` holds, publishes and marks it. The insert also refuses a
number the tracking view (`intake.tracking`, every request on the log) already holds, in the same statement: one
round trip.
"""

from __future__ import annotations

import psycopg
from civicloop_events.outbox_postgres import OutboxTable
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.kept_commands import PostgresKeptCommands
from civicloop_intake.domain.submissions import Submission
from civicloop_intake.service_layer.ports import RequestNumberTaken, Submissions

REQUEST_NUMBER_UNIQUE = "submissions_request_number_key"
SUBMISSIONS_OUTBOX = OutboxTable(schema="intake", table="submissions", key="idempotency_key")


class PostgresSubmissions(PostgresKeptCommands[Submission], Submissions):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, SUBMISSIONS_OUTBOX, Submission)

    async def add(self, submission: Submission) -> Submission | None:
        async with self.pool.connection() as conn:
            try:
                stored = await self._insert_pending(
                    conn,
                    submission,
                    sql.SQL(
                        "select %(key)s, %(number)s, %(event_id)s, %(hash)s, %(event)s::json, 'pending'"
                        " where not exists (select from intake.tracking where request_number = %(number)s)"
                    ),
                )
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name == REQUEST_NUMBER_UNIQUE:
                    raise RequestNumberTaken(submission.request_number) from exc
                raise
        if stored:
            return None
        # Nothing inserted: the key was taken (answer with that submission), or else the number is on the log.
        earlier = await self.get(submission.idempotency_key)
        if earlier is None:
            raise RequestNumberTaken(submission.request_number)
        return earlier
