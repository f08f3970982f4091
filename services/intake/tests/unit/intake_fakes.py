"""In-memory twins of intake's ports, for handler tests that run in milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from civicloop_events import Event, PersonalData, SealedPersonalData, decode_event
from civicloop_events.outbox_memory import InMemoryOutbox
from civicloop_events.personal_data import PersonalDataUnreadable
from civicloop_intake.bootstrap import Intake, bootstrap
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.domain.merging import Merge, MergeDuplicate
from civicloop_intake.domain.submissions import LogPosition, Submission, SubmissionState
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.domain.work_commands import WorkDone
from civicloop_intake.domain.worked_requests import WorkedRequest
from civicloop_intake.service_layer.merge import MergeReceipt, merge_duplicate
from civicloop_intake.service_layer.ports import (
    Catalogue,
    Corrections,
    EventLog,
    EventLogUnavailable,
    MergeLedger,
    Merges,
    RequestNumberTaken,
    Submissions,
    TrackAttempts,
    TrackingView,
    Vault,
)
from civicloop_intake.service_layer.work_ports import StaffWork, WorkLedger
from civicloop_intake.settings import Environment, IntakeSettings


class FakeCatalogue(Catalogue):
    def __init__(self, *entries: CatalogueEntry) -> None:
        self.entries = {(e.jurisdiction_id, e.service_code): e for e in entries}

    async def get(self, jurisdiction_id: str, service_code: str) -> CatalogueEntry | None:
        return self.entries.get((jurisdiction_id, service_code))


class _KeptRows(InMemoryOutbox):
    """An outbox whose rows are kept under a key, each with the event to publish, marked published with its position."""

    rows: dict[str, Any]

    def keep(self, key: str, row: Any) -> Any | None:
        """The row kept under `key` already, or None once `row` is kept and its event waits to be published."""
        if key in self.rows:
            return self.rows[key]
        self.rows[key] = row
        self.put(key, [row.event_json])
        return None

    def on_published(self, key: str, position: LogPosition | None) -> None:
        self.rows[key] = replace(self.rows[key], state=SubmissionState.published, position=position)


class FakeSubmissions(_KeptRows, Submissions):
    def __init__(self, on_the_log: FakeTrackingView | None = None) -> None:
        super().__init__("intake.submissions")
        self.rows: dict[str, Submission] = {}
        self.taken_numbers: set[str] = set()
        self.on_the_log = on_the_log or FakeTrackingView()  # the tracking view: every request on the log

    async def get(self, idempotency_key: str) -> Submission | None:
        return self.rows.get(idempotency_key)

    async def add(self, submission: Submission) -> Submission | None:
        if submission.idempotency_key in self.rows:
            return self.rows[submission.idempotency_key]
        stored = {s.request_number for s in self.rows.values()}
        if submission.request_number in self.taken_numbers | stored | self.on_the_log.rows.keys():
            raise RequestNumberTaken(submission.request_number)
        return self.keep(submission.idempotency_key, submission)


class FakeEventLog(EventLog):
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []
        self.down = False

    async def publish(self, event: Event[Any]) -> LogPosition:
        await asyncio.sleep(0)  # let concurrent callers interleave, as a real broker round-trip would
        if self.down:
            raise EventLogUnavailable("broker down")
        self.events.append(event)
        return LogPosition(0, len(self.events) - 1)


class FakeVault(Vault):
    """Seals by keeping the clear data aside under a fresh resident id; `erase` forgets it."""

    def __init__(self) -> None:
        self.kept: dict[UUID, PersonalData] = {}

    async def seal(self, data: PersonalData) -> SealedPersonalData:
        resident_id = uuid4()
        self.kept[resident_id] = data
        return SealedPersonalData(resident_id=resident_id, nonce="AAAAAAAAAAAAAAAA", ciphertext="c2VhbGVk")

    async def unseal(self, sealed: SealedPersonalData) -> PersonalData:
        if sealed.resident_id not in self.kept:
            raise PersonalDataUnreadable("erased")
        return self.kept[sealed.resident_id]

    def erase(self, resident_id: UUID) -> None:
        self.kept.pop(resident_id, None)


class _FakeLedger(MergeLedger):
    def __init__(self, store: FakeMerges) -> None:
        self.store = store

    async def get(self, duplicate: str) -> Merge | None:
        return self.store.rows.get(duplicate)

    async def add(self, merge: Merge) -> None:
        if self.store.keep(merge.duplicate, merge) is not None:
            raise KeyError(merge.duplicate)  # the primary key of intake.merges


class FakeMerges(_KeptRows, Merges):
    def __init__(self) -> None:
        super().__init__("intake.merges")
        self.rows: dict[str, Merge] = {}
        self._serial = asyncio.Lock()

    @asynccontextmanager
    async def serialised(self) -> AsyncIterator[MergeLedger]:
        async with self._serial:
            yield _FakeLedger(self)


class FakeCorrections(_KeptRows, Corrections):
    def __init__(self) -> None:
        super().__init__("intake.location_corrections")
        self.rows: dict[str, Correction] = {}

    async def get(self, idempotency_key: str) -> Correction | None:
        return self.rows.get(idempotency_key)

    async def add(self, correction: Correction) -> Correction | None:
        return self.keep(correction.idempotency_key, correction)


class FakeTrackingView(TrackingView):
    def __init__(self) -> None:
        self.rows: dict[str, TrackedRequest] = {}

    async def get(self, request_number: str) -> TrackedRequest | None:
        return self.rows.get(request_number)

    async def wait_until_applied(self, position: LogPosition, *, timeout_s: float) -> bool:
        return True


class FakeTrackAttempts(TrackAttempts):
    """Attempts per number in one window that never ends: past `max_attempts`, refused for `retry_after_s`."""

    def __init__(self, max_attempts: int = 1_000, retry_after_s: int = 60) -> None:
        self.max_attempts, self.retry_after_s = max_attempts, retry_after_s
        self.counts: dict[str, int] = {}

    async def reserve(self, key: str) -> int | None:
        self.counts[key] = self.counts.get(key, 0) + 1
        return None if self.counts[key] <= self.max_attempts else self.retry_after_s

    async def release(self, key: str) -> None:
        self.counts[key] = max(0, self.counts[key] - 1)


class _FakeWorkLedger(WorkLedger):
    def __init__(self, store: FakeStaffWork) -> None:
        self.store = store

    async def current(self, number: str) -> tuple[WorkedRequest | None, list[Event[Any]]]:
        rows = [r for r in self.store.rows.values() if r.request_number == number]
        return self.store.states.get(number), [decode_event(r.event_json) for r in rows]

    async def unpublished(self, number: str) -> list[str]:
        return [
            k
            for k, r in self.store.rows.items()
            if r.request_number == number and not self.store.entries[k].published
        ]


class FakeStaffWork(_KeptRows, StaffWork):
    """Staff commands in memory; `states` stands for the folded state, which holds none of the kept commands."""

    def __init__(self) -> None:
        super().__init__("intake.staff_work")
        self.rows: dict[str, WorkDone] = {}
        self.states: dict[str, WorkedRequest] = {}
        self._serial: dict[str, asyncio.Lock] = {}

    async def get(self, idempotency_key: str) -> WorkDone | None:
        return self.rows.get(idempotency_key)

    async def add(self, command: WorkDone) -> WorkDone | None:
        return self.keep(command.idempotency_key, command)

    @asynccontextmanager
    async def serialised(self, number: str) -> AsyncIterator[WorkLedger]:
        async with self._serial.setdefault(number, asyncio.Lock()):
            yield _FakeWorkLedger(self)

    async def known(self, number: str) -> bool:
        return number in self.states


async def intake_on_fakes(catalogue: FakeCatalogue) -> Intake:
    """The real `bootstrap` with every port a fake: no database, no broker, no consumers."""
    tracking = FakeTrackingView()
    return await bootstrap(
        IntakeSettings(env=Environment.test, read_your_writes_timeout_s=0.05),
        catalogue=catalogue,
        submissions=FakeSubmissions(on_the_log=tracking),
        vault=FakeVault(),
        event_log=FakeEventLog(),
        tracking=tracking,
        merges=FakeMerges(),
        corrections=FakeCorrections(),
        track_attempts=FakeTrackAttempts(),
        staff_work=FakeStaffWork(),
        start_consumers=False,
    )


async def merge_as_agent(
    number: str,
    original: str,
    tracking: FakeTrackingView,
    merges: FakeMerges,
    log: FakeEventLog,
    note: str = "",
) -> MergeReceipt:
    """agent-7 merges `number` into `original` through the service layer over these fakes."""
    return await merge_duplicate(
        MergeDuplicate(original=original, note=note),
        number=number,
        agent_id="agent-7",
        tracking=tracking,
        merges=merges,
        event_log=log,
        wait_s=0.05,
    )
