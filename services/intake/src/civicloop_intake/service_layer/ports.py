"""What the handlers need from the outside world; each port has a PostgreSQL/Kafka adapter and a fake for tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager

from civicloop_events import PersonalData, SealedPersonalData
from civicloop_events.outbox import EventLog as EventLog  # the contract's ports, re-exported for intake
from civicloop_events.outbox import EventLogUnavailable as EventLogUnavailable
from civicloop_events.outbox import Outbox
from civicloop_events.request_numbers import RequestNumberTaken as RequestNumberTaken

from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.domain.merging import Merge
from civicloop_intake.domain.submissions import LogPosition, Submission
from civicloop_intake.domain.tracking import TrackedRequest


class Catalogue(ABC):
    @abstractmethod
    async def get(self, jurisdiction_id: str, service_code: str) -> CatalogueEntry | None: ...


class Submissions(Outbox):
    """Submissions by Idempotency-Key; the outbox of `ServiceRequestSubmitted` (keyed by the Idempotency-Key)."""

    @abstractmethod
    async def get(self, idempotency_key: str) -> Submission | None: ...

    @abstractmethod
    async def add(self, submission: Submission) -> Submission | None:
        """Store a pending submission. None when stored; the existing one when its key is taken.

        Raises `RequestNumberTaken` when its request number is: by another submission, or by a request already on
        the log (the tracking view holds it).
        """


class Vault(ABC):
    @abstractmethod
    async def seal(self, data: PersonalData) -> SealedPersonalData: ...

    @abstractmethod
    async def unseal(self, sealed: SealedPersonalData) -> PersonalData:
        """Raises `PersonalDataUnreadable` when the resident was erased."""


class TrackingView(ABC):
    @abstractmethod
    async def get(self, request_number: str) -> TrackedRequest | None: ...

    @abstractmethod
    async def wait_until_applied(self, position: LogPosition, *, timeout_s: float) -> bool:
        """Wait (bounded) until the view has applied the event at `position` of the request-events topic."""


class TrackAttempts(ABC):
    """Tracks of one request number, counted for every replica: a number asked with too many wrong phones is refused
    for a while, whoever asks (`civicloop_runtime.attempt_limits.PostgresAttemptLimit`)."""

    @abstractmethod
    async def reserve(self, key: str) -> int | None:
        """Count an attempt: None when it may go ahead, else the whole seconds until it may."""

    @abstractmethod
    async def release(self, key: str) -> None:
        """Hand back a reserved attempt that found its request (the right phone)."""


class MergeLedger(ABC):
    """Intake's merges, inside a transaction that no other merge runs beside (merges are checked one at a time)."""

    @abstractmethod
    async def get(self, duplicate: str) -> Merge | None: ...

    @abstractmethod
    async def add(self, merge: Merge) -> None:
        """Store a pending merge; it counts for every later check at once, published or not."""


class Merges(Outbox):
    """Intake's merges; the outbox of `RequestMerged`, keyed by the duplicate's number."""

    @abstractmethod
    def serialised(self) -> AbstractAsyncContextManager[MergeLedger]:
        """One merge check at a time, committed when the block ends: two agents cannot merge A->B and B->A."""


class Corrections(Outbox):
    """Agents' location corrections, by Idempotency-Key; the outbox of `LocationCorrected`."""

    @abstractmethod
    async def get(self, idempotency_key: str) -> Correction | None: ...

    @abstractmethod
    async def add(self, correction: Correction) -> Correction | None:
        """Store a pending correction. None when stored; the existing one when its key is taken."""
