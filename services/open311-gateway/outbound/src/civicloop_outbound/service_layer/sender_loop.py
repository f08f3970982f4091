"""The sender loop: takes the due head of each body's queue, sends it through its method's `Sender`, records the
outcome as events (`SentToBackend`, `ExternalReferenceAssigned`, `SendFailed`) and in the row.

Order per body. Only the lowest `seq` still queued of a body is ever taken (the "head"), so a body's reports leave
in the order they were submitted. A head that fails blocks the items behind it until it is sent or given up: a
back-end that is down fails every item anyway, so letting later ones overtake would only scramble the order the
department sees (and an update could reach it before the report it updates); a head the back-end refuses outright
(`PermanentFailure`) is given up at once and does not block. A paused body's rows are not taken; on resume they go
out in `seq` order.

Exactly once towards the back-end, as far as its protocol allows. The head row is locked (`FOR UPDATE SKIP LOCKED`,
so other loops skip it and, finding the head locked, take nothing of that body) for the whole send, and the
transaction that holds the lock also publishes the outcome events and marks the row sent: success is recorded
atomically with the row leaving the queue. If the process dies (or the broker or database fails) after the
back-end accepted the item but before that commit, the transaction rolls back and the row is sent again later: the
back-end sees it twice. That window cannot be closed from our side without the back-end's help, so each send
carries the row's stable `delivery_id` (`X-CivicLoop-Delivery` for webhooks, the email's `Message-ID`) for the
back-end to drop a repeat, and the outcome events' ids derive from (row, attempt), so the repeated events are the
same events and consumers' inboxes drop them too.

Updates (`purpose = update`: an agent's reopening or public comment, a transfer notice) go through the same loop and
ledger, behind the request's delivery in the body's order, and publish no outcome event: the row keeps the outcome
and what the back-end answered (`answer`). One that cannot reach the body (the body refused updates before, or never
got the request) is recorded `undeliverable` without a call; a back-end refusing one (`UpdatesRefused`) is
remembered. An Open311 update carries the row's `delivery_id` as its `update_id`, for the back-end to drop a repeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from civicloop_events import Event, derived_event_id
from civicloop_events.payloads import ExternalReferenceAssigned, SendFailed, SendMethod, SentToBackend
from civicloop_events.personal_data import PersonalDataUnreadable
from civicloop_events.producer import EventProducer
from civicloop_events.tasks import raise_if_cancelled
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.domain.backoff import next_attempt_at
from civicloop_outbound.domain.ports import (
    BodyRecord,
    DispatchPayload,
    OutboundItem,
    PermanentFailure,
    Sender,
    SendResult,
    TemporaryFailure,
    Undeliverable,
    UpdatesRefused,
)
from civicloop_outbound.service_layer import store
from civicloop_outbound.service_layer.dispatcher import OUTBOUND_ACTOR, OUTBOUND_SOURCE

log = logging.getLogger("civicloop.outbound.sender")


class SenderLoopSettings(Protocol):
    """What the loop reads of the service's settings (`OutboundSettings` has it all)."""

    outbound_concurrency: int
    outbound_poll_interval_s: float
    outbound_send_timeout_s: float
    outbound_include_contact: bool
    outbound_max_attempts: int
    outbound_backoff_initial_s: float
    outbound_backoff_max_s: float
    publish_timeout_s: float

    @property
    def open311_base_url(self) -> str: ...


_HEADS = """
select q.seq, q.jurisdiction_id, q.body_id
  from outbound.outbound_queue q
  join outbound.bodies b on b.jurisdiction_id = q.jurisdiction_id and b.body_id = q.body_id
 where q.state = 'queued' and not b.paused and q.method = any(%s) and q.next_attempt_at <= now()
   and q.seq = (select min(h.seq) from outbound.outbound_queue h
                 where h.jurisdiction_id = q.jurisdiction_id and h.body_id = q.body_id and h.state = 'queued')
 order by q.seq
 limit %s"""


def _now() -> datetime:
    return datetime.now(UTC)


class SenderLoop:
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        producer: EventProducer,
        senders: dict[SendMethod, Sender],
        settings: SenderLoopSettings,
        vault: ResidentKeyVault | None = None,
        clock: Callable[[], datetime] = _now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.senders = senders
        self.settings = settings
        self.vault = vault
        self.clock = clock
        self.rand = rand
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled. Each body has at most one send in flight, so a slow back-end holds up only its own
        body; a free slot is filled as soon as any send finishes, a new item arrives (`wake`) or the poll interval
        passes. A failing look-up (database away) is logged and tried again."""
        inflight: dict[tuple[str, str], asyncio.Task[int]] = {}
        try:
            while True:
                free = self.settings.outbound_concurrency - len(inflight)
                if free > 0:
                    try:
                        heads = await self._due_heads(free + len(inflight))
                    except Exception as exc:
                        raise_if_cancelled(exc)
                        log.exception("outbound: looking for due items failed")
                        heads = []
                    for seq, jurisdiction_id, body_id in heads:
                        key = (jurisdiction_id, body_id)
                        if key not in inflight and len(inflight) < self.settings.outbound_concurrency:
                            inflight[key] = asyncio.create_task(self._send_head(seq))
                self._wake.clear()
                waker = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    [waker, *inflight.values()],
                    timeout=self.settings.outbound_poll_interval_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waker.cancel()
                for key, task in list(inflight.items()):
                    if task.done():
                        del inflight[key]
                        self._log_unrecorded(task)
        finally:
            for task in inflight.values():
                task.cancel()
            await asyncio.gather(*inflight.values(), return_exceptions=True)

    async def run_once(self) -> int:
        """One round: the due head of every unpaused body, side by side; returns how many were attempted."""
        heads = await self._due_heads(self.settings.outbound_concurrency)
        tasks = [asyncio.create_task(self._send_head(seq)) for seq, _, _ in heads]
        if tasks:
            await asyncio.wait(tasks)
        for task in tasks:
            self._log_unrecorded(task)
        return sum(t.result() for t in tasks if t.exception() is None)

    async def _due_heads(self, limit: int) -> list[tuple[int, str, str]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(_HEADS, ([m.value for m in self.senders], limit))
            return [(seq, j, b) for seq, j, b in await cur.fetchall()]

    @staticmethod
    def _log_unrecorded(task: asyncio.Task[int]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        # The broker or database failed mid-send: the row's transaction rolled back, so the row is still queued
        # with its attempt count unchanged and goes out again later (see the module docstring).
        log.error("outbound send not recorded", extra={"error": repr(task.exception())})

    async def _send_head(self, seq: int) -> int:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                """select request_id, jurisdiction_id, body_id, method, purpose, payload, attempts, causation_id,
                          correlation_id
                     from outbound.outbound_queue
                    where seq = %s and state = 'queued' and next_attempt_at <= now()
                      for update skip locked""",
                (seq,),
            )
            row = await cur.fetchone()
            if row is None:
                return 0  # taken by another loop, or no longer due
            (
                _request_id,
                jurisdiction_id,
                body_id,
                method,
                purpose,
                payload,
                attempts,
                causation,
                correlation,
            ) = row
            cur = await conn.execute(
                "select min(seq) from outbound.outbound_queue where jurisdiction_id = %s and body_id = %s"
                " and state = 'queued'",
                (jurisdiction_id, body_id),
            )
            head = await cur.fetchone()
            body = await store.load_body(conn, jurisdiction_id, body_id)
            if body is None or body.paused or head is None or head[0] != seq:
                return 0
            attempt = attempts + 1
            item = await self._item(
                seq, SendMethod(method), purpose, attempt, DispatchPayload.model_validate(payload)
            )
            sender = self.senders[item.method]
            outcome: SendResult | Exception
            try:
                if item.purpose == "update":
                    await self._check_update_deliverable(conn, body, item)
                outcome = await asyncio.wait_for(
                    sender.send(body, item), timeout=self.settings.outbound_send_timeout_s * 2
                )
            except (TemporaryFailure, PermanentFailure) as exc:
                outcome = exc
            except TimeoutError:
                outcome = TemporaryFailure("timed out")
            except Exception as exc:
                raise_if_cancelled(exc)
                log.exception("sender raised", extra={"seq": seq, "method": method})
                outcome = TemporaryFailure(f"{type(exc).__name__}: {exc}")
            cause = (causation, correlation)
            if isinstance(outcome, SendResult):
                await self._succeeded(conn, body, item, outcome, cause)
            elif isinstance(outcome, Undeliverable):
                await self._undeliverable(conn, body, item, outcome)
            else:
                await self._failed(conn, body, item, outcome, cause)
            return 1

    @staticmethod
    async def _check_update_deliverable(conn: store.Conn, body: BodyRecord, item: OutboundItem) -> None:
        """An update goes only to a body that got the request and has not refused updates before; raises
        `Undeliverable` otherwise. (The request's delivery to the body is ahead of it in the body's order, so it is
        settled by now: sent, or given up.)"""
        cur = await conn.execute(
            "select refused_status from outbound.body_update_support where jurisdiction_id = %s and body_id = %s",
            (body.jurisdiction_id, body.body_id),
        )
        if (refused := await cur.fetchone()) is not None:
            raise Undeliverable(f"the back-end takes no updates (it answered HTTP {refused[0]} to one)")
        cur = await conn.execute(
            "select 1 from outbound.outbound_queue where request_id = %s and jurisdiction_id = %s"
            " and body_id = %s and purpose = 'deliver' and state = 'sent' limit 1",
            (item.payload.request_id, body.jurisdiction_id, body.body_id),
        )
        if await cur.fetchone() is None:
            raise Undeliverable(store.NEVER_REACHED)

    async def _undeliverable(
        self, conn: store.Conn, body: BodyRecord, item: OutboundItem, reason: Undeliverable
    ) -> None:
        """Recorded, never retried; a back-end that refused an update is remembered as taking none."""
        text = (str(reason) or type(reason).__name__)[:2000]
        if isinstance(reason, UpdatesRefused):
            await conn.execute(
                "insert into outbound.body_update_support (jurisdiction_id, body_id, refused_status, answer)"
                " values (%s, %s, %s, %s) on conflict (jurisdiction_id, body_id) do update"
                " set refused_status = excluded.refused_status, answer = excluded.answer, learned_at = now()",
                (body.jurisdiction_id, body.body_id, reason.status, text),
            )
        await conn.execute(
            "update outbound.outbound_queue set state = 'undeliverable', attempts = %s, last_error = %s"
            " where seq = %s",
            (item.attempt, text, item.seq),
        )
        log.warning(
            "not deliverable",
            extra={"seq": item.seq, "body_id": body.body_id, "method": item.method.value, "error": text},
        )

    async def _item(
        self, seq: int, method: SendMethod, purpose: str, attempt: int, payload: DispatchPayload
    ) -> OutboundItem:
        contact = None
        if self.settings.outbound_include_contact and payload.contact is not None and self.vault is not None:
            try:
                contact = await self.vault.unseal(payload.contact)
            except PersonalDataUnreadable:
                contact = None  # the resident was erased: send without details
        url = (
            f"{self.settings.open311_base_url}/requests/{payload.request_id}.json"
            f"?jurisdiction_id={payload.jurisdiction_id}"
        )
        return OutboundItem(
            seq=seq,
            delivery_id=str(derived_event_id("delivery", seq)),
            method=method,
            purpose=purpose,
            attempt=attempt,
            payload=payload,
            request_url=url,
            contact=contact,
        )

    async def _publish_outcome(
        self, payload: Any, item: OutboundItem, kind: str, cause: tuple[UUID, UUID | None]
    ) -> None:
        """One outcome event of this attempt at the item, caused by what queued it; its id derives from (kind, row,
        attempt), so the same attempt recorded again after a crash publishes the same event."""
        event = Event.create(
            payload,
            request_id=item.payload.request_id,
            jurisdiction_id=item.payload.jurisdiction_id,
            actor=OUTBOUND_ACTOR,
            source=OUTBOUND_SOURCE,
            event_id=derived_event_id(kind, item.seq, item.attempt),
        )
        event = event.model_copy(update={"causation_id": cause[0], "correlation_id": cause[1] or cause[0]})
        # Bounded: the row stays locked while we wait, and an unreachable broker must not hold it for long.
        await asyncio.wait_for(self.producer.publish(event), timeout=self.settings.publish_timeout_s)

    async def _succeeded(
        self,
        conn: store.Conn,
        body: BodyRecord,
        item: OutboundItem,
        result: SendResult,
        cause: tuple[UUID, UUID | None],
    ) -> None:
        if item.purpose == "deliver":
            destination = (result.destination or self.senders[item.method].destination(body, item))[:500]
            await self._publish_outcome(
                SentToBackend(
                    body_id=body.body_id,
                    method=item.method,
                    attempt=item.attempt,
                    destination=destination,
                ),
                item,
                "sent",
                cause,
            )
            if result.external_id:
                await self._publish_outcome(
                    ExternalReferenceAssigned(body_id=body.body_id, external_id=result.external_id[:200]),
                    item,
                    "external_id",
                    cause,
                )
        await conn.execute(
            "update outbound.outbound_queue set state = 'sent', sent_at = now(), attempts = %s, external_id = %s,"
            " last_error = null, answer = %s where seq = %s",
            (item.attempt, result.external_id, result.answer[:2000] or None, item.seq),
        )
        log.info(
            "sent",
            extra={
                "seq": item.seq,
                "body_id": body.body_id,
                "method": item.method.value,
                "attempt": item.attempt,
            },
        )

    async def _failed(
        self,
        conn: store.Conn,
        body: BodyRecord,
        item: OutboundItem,
        error: Exception,
        cause: tuple[UUID, UUID | None],
    ) -> None:
        s = self.settings
        retry_at = (
            None
            if isinstance(error, PermanentFailure)
            else next_attempt_at(
                item.attempt,
                now=self.clock(),
                max_attempts=s.outbound_max_attempts,
                initial_s=s.outbound_backoff_initial_s,
                max_s=s.outbound_backoff_max_s,
                rand=self.rand,
            )
        )
        after = getattr(error, "retry_after_s", None)
        if retry_at is not None and after is not None:
            retry_at = max(retry_at, self.clock() + timedelta(seconds=after))  # the back-end asked us to wait
        text = (str(error) or type(error).__name__)[:2000]
        if item.purpose == "deliver":
            await self._publish_outcome(
                SendFailed(
                    body_id=body.body_id,
                    method=item.method,
                    attempt=item.attempt,
                    error=text,
                    retry_at=retry_at,
                ),
                item,
                "failed",
                cause,
            )
        if retry_at is None:
            await conn.execute(
                "update outbound.outbound_queue set state = 'failed', attempts = %s, last_error = %s where seq = %s",
                (item.attempt, text, item.seq),
            )
        else:
            await conn.execute(
                "update outbound.outbound_queue set attempts = %s, last_error = %s, next_attempt_at = %s"
                " where seq = %s",
                (item.attempt, text, retry_at, item.seq),
            )
        log.warning(
            "send failed",
            extra={
                "seq": item.seq,
                "body_id": body.body_id,
                "method": item.method.value,
                "attempt": item.attempt,
                "error": text,
                "retry_at": retry_at.isoformat() if retry_at else None,
            },
        )
