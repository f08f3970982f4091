"""What a sweep reads and writes in PostgreSQL (`SweepStore`), and the lock that lets one sweep run at a time."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import SlaDefined
from civicloop_events.registry import decode_event, encode_event
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_selfheal.domain.codec import view_from_json
from civicloop_selfheal.domain.decisions import Action, ActionKind, Ledger
from civicloop_selfheal.domain.runs import RunReport
from civicloop_selfheal.domain.view import BodyView, ClusterView, DeadLetter, RequestView
from civicloop_selfheal.service_layer.ports import Snapshot, SweepStore

# One sweep at a time across replicas: a session advisory lock, held on its own connection while the sweep runs.
SWEEP_LOCK_KEY = 0x7365_6C66_6865_616C  # "selfheal"


@contextlib.asynccontextmanager
async def sweep_lock(pool: AsyncConnectionPool) -> AsyncIterator[bool]:
    """True while this process holds the sweep lock; False at once when another sweep holds it."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        cur = await conn.execute("select pg_try_advisory_lock(%s)", (SWEEP_LOCK_KEY,))
        row = await cur.fetchone()
        held = bool(row and row[0])
        try:
            yield held
        finally:
            if held:
                await conn.execute("select pg_advisory_unlock(%s)", (SWEEP_LOCK_KEY,))
            await conn.set_autocommit(False)


class PostgresSweepStore(SweepStore):
    def __init__(self, pool: AsyncConnectionPool, *, runs_kept: timedelta = timedelta(days=90)) -> None:
        self.pool = pool
        self.runs_kept = runs_kept  # a run's record is for operators and auditors; the actions are on the log

    async def snapshot(self) -> Snapshot:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("set transaction isolation level repeatable read")
            cur = await conn.execute("select view from selfheal.requests where not closed")
            requests = [view_from_json(r[0]) for r in await cur.fetchall()]
            cur = await conn.execute("select jurisdiction_id, definition from selfheal.sla_definitions")
            policies = {j: SlaDefined.model_validate(d) for j, d in await cur.fetchall()}
            cur = await conn.execute(
                "select jurisdiction_id, body_id, paused, failing_since, failures from selfheal.bodies"
            )
            bodies = {(r[0], r[1]): BodyView(r[0], r[1], r[2], r[3], r[4]) for r in await cur.fetchall()}
            # Hot spots not escalated yet (an escalated one has its action in the ledger).
            cur = await conn.execute(
                "select c.cluster_id, c.jurisdiction_id, c.service_code, c.request_numbers, c.detected_at,"
                " c.area_ids from selfheal.clusters c where not exists (select 1 from selfheal.actions a"
                " where a.kind = %s and a.subject = c.jurisdiction_id || '/cluster/' || c.cluster_id)",
                (ActionKind.escalate_cluster.value,),
            )
            clusters = [
                ClusterView(r[0], r[1], r[2], tuple(r[3]), r[4], tuple(r[5])) for r in await cur.fetchall()
            ]
            members = await _views(conn, {n for c in clusters for n in c.request_numbers})
            cur = await conn.execute(
                'select topic, partition, "offset", consumer, reason, dead_lettered_at, request_number,'
                " jurisdiction_id from selfheal.dead_letters where seen_at is null"
                ' order by topic, partition, "offset"'
            )
            dead_letters = [DeadLetter(*r) for r in await cur.fetchall()]
            named = await _views(conn, {d.request_number for d in dead_letters if d.request_number})
        return Snapshot(
            requests=requests,
            policies=policies,
            bodies=bodies,
            clusters=clusters,
            cluster_members=members,
            dead_letters=dead_letters,
            dead_letter_requests=named,
        )

    async def ledger(self, subjects: Collection[str]) -> Ledger:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select kind, subject, max(created_at) from selfheal.actions where subject = any(%s)"
                " group by kind, subject",
                (list(subjects),),
            )
            rows = await cur.fetchall()
        last = {(ActionKind(k), s): at for k, s, at in rows}
        requeued = {s: at for (k, s), at in last.items() if k is ActionKind.requeue}
        return Ledger(last_action_at=last, last_requeue_at=requeued)

    async def done(self, event_ids: Collection[UUID]) -> set[UUID]:
        if not event_ids:
            return set()
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select event_id from selfheal.actions where event_id = any(%s)", (list(event_ids),)
            )
            return {r[0] for r in await cur.fetchall()}

    async def record_pending(
        self, run_id: UUID, actions: Sequence[tuple[Action, Event[Any]]], *, now: datetime
    ) -> list[Event[Any]]:
        recorded: list[Event[Any]] = []
        async with self.pool.connection() as conn, conn.transaction():
            for action, event in actions:
                cur = await conn.execute(
                    "insert into selfheal.actions (event_id, kind, subject, reason, run_id, event, created_at)"
                    " values (%s, %s, %s, %s, %s, %s, %s) on conflict (event_id) do nothing returning event_id",
                    (
                        event.event_id,
                        action.kind.value,
                        action.subject,
                        action.reason,
                        run_id,
                        Jsonb(json.loads(encode_event(event))),
                        now,
                    ),
                )
                if await cur.fetchone() is not None:
                    recorded.append(event)
        return recorded

    async def pending(self) -> list[Event[Any]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select event from selfheal.actions where state = 'pending' order by created_at, event_id"
            )
            return [decode_event(r[0]) for r in await cur.fetchall()]

    async def mark_published(self, event_ids: Collection[UUID]) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "update selfheal.actions set state = 'published', published_at = now()"
                " where event_id = any(%s) and state = 'pending'",
                (list(event_ids),),
            )

    async def dead_letters_seen(self, dead_letters: Iterable[DeadLetter]) -> None:
        keys = [(d.topic, d.partition, d.offset) for d in dead_letters]
        if not keys:
            return
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "update selfheal.dead_letters set seen_at = now()"
                ' where topic = %s and partition = %s and "offset" = %s',
                keys,
            )

    async def start_run(self, report: RunReport) -> None:
        """Records the run, and forgets runs older than `runs_kept` (a sweep every 5 minutes is 105,000 a year)."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "insert into selfheal.runs (run_id, trigger, staff_id, started_at) values (%s, %s, %s, %s)",
                (report.run_id, report.trigger.value, report.staff_id, report.started_at),
            )
            await conn.execute(
                "delete from selfheal.runs where started_at < %s", (report.started_at - self.runs_kept,)
            )

    async def finish_run(self, report: RunReport) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "update selfheal.runs set finished_at = %s, outcome = %s, found = %s, done = %s, errors = %s"
                " where run_id = %s",
                (
                    report.finished_at,
                    report.outcome.value if report.outcome else None,
                    Jsonb(report.found),
                    Jsonb(report.done),
                    Jsonb(report.errors),
                    report.run_id,
                ),
            )


async def _views(conn: Any, numbers: Collection[str]) -> dict[str, RequestView]:
    if not numbers:
        return {}
    cur = await conn.execute(
        "select view from selfheal.requests where request_number = any(%s)", (list(numbers),)
    )
    return {v.number: v for v in (view_from_json(r[0]) for r in await cur.fetchall())}


async def latest_runs(pool: AsyncConnectionPool, *, limit: int) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select run_id, trigger, staff_id, started_at, finished_at, outcome, found, done, errors"
            " from selfheal.runs order by started_at desc limit %s",
            (limit,),
        )
        names = (
            "run_id",
            "trigger",
            "staff_id",
            "started_at",
            "finished_at",
            "outcome",
            "found",
            "done",
            "errors",
        )
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]
