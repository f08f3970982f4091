"""What staff commands need from storage: the state they are checked against and the commands kept with their
event. Each port has a PostgreSQL adapter (`adapters.postgres_staff_work`) and a fake for tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.outbox import Outbox

from civicloop_intake.domain.work_commands import WorkDone
from civicloop_intake.domain.worked_requests import WorkedRequest, fold_many


class WorkedRows(ABC):
    """The worked-request state's rows, within the transaction that applies a batch of events."""

    @abstractmethod
    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, WorkedRequest]: ...

    @abstractmethod
    async def save(self, states: Sequence[WorkedRequest]) -> None: ...

    @abstractmethod
    async def mark_folded(self, event_ids: Collection[UUID]) -> None:
        """The kept commands whose events these are are in the state now."""


class WorkLedger(ABC):
    """Inside the one-command-at-a-time section of one request."""

    @abstractmethod
    async def current(self, number: str) -> tuple[WorkedRequest | None, list[Event[Any]]]:
        """The folded state and, in order, the events of commands accepted here that it does not hold yet."""

    @abstractmethod
    async def unpublished(self, number: str) -> list[str]:
        """The keys of the request's commands still pending, oldest first."""


class StaffWork(Outbox):
    """Staff commands by Idempotency-Key; the outbox of their events."""

    @abstractmethod
    async def get(self, idempotency_key: str) -> WorkDone | None: ...

    @abstractmethod
    async def add(self, command: WorkDone) -> WorkDone | None:
        """Store a pending command. None when stored; the existing one when its key is taken."""

    @abstractmethod
    def serialised(self, number: str) -> AbstractAsyncContextManager[WorkLedger]:
        """Commands on one request one at a time, from the check until the event is published: the log gets them
        in the order they were checked."""

    @abstractmethod
    async def known(self, number: str) -> bool:
        """Whether the state holds the request (a just-submitted one may not be folded yet)."""


async def when_request_events_update_worked(rows: WorkedRows, events: Sequence[Event[Any]]) -> None:
    """Fold a batch of request events (log order) into the worked-request state; mark intake's own commands among
    them as folded."""
    numbers = {e.request_id for e in events if e.request_id is not None}
    if not numbers:
        return
    changed = fold_many(await rows.load_for_update(numbers), events)
    if changed:
        await rows.save(list(changed.values()))
    await rows.mark_folded([e.event_id for e in events if e.source == "agent"])
