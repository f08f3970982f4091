"""What the handlers need from the outside world; each port has a PostgreSQL/Kafka adapter and a fake for tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import Any

from civicloop_events import Event, PersonalData, SealedPersonalData

from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.domain.merging import Merge
from civicloop_intake.domain.submissions import LogPosition, Submission
from civicloop_intake.domain.tracking import TrackedRequest


class EventLogUnavailable(Exception):
    """The broker did not acknowledge the event in time: nothing was accepted."""


class RequestNumberTaken(Exception):
    """A freshly drawn request number is already in use (about one draw in a million at a million requests)."""


class Catalogue(ABC):
    @abstractmethod
    async def get(self, jurisdiction_id: str, service_code: str) -> CatalogueEntry | None: ...


class SubmissionLock(ABC):
    """A submission held exclusively (row lock) while its event is published."""

    submission: Submission

    @abstractmethod
    async def mark_published(self, position: LogPosition) -> Submission: ...


class Submissions(ABC):
    @abstractmethod
    async def get(self, idempotency_key: str) -> Submission | None: ...

    @abstractmethod
    async def add(self, submission: Submission) -> Submission | None:
        """Store a pending submission. None when stored; the existing one when its key is taken.

        Raises `RequestNumberTaken` when its request number is.
        """

    @abstractmethod
    def locked(self, idempotency_key: str) -> AbstractAsyncContextManager[SubmissionLock]:
        """Hold the submission until the block ends, so concurrent retries publish it once."""


class EventLog(ABC):
    @abstractmethod
    async def publish(self, event: Event[Any]) -> LogPosition:
        """Return once the broker acknowledged; raise `EventLogUnavailable` otherwise."""


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


class MergeLedger(ABC):
    """Intake's merges, inside a transaction that no other merge runs beside (merges are checked one at a time)."""

    @abstractmethod
    async def get(self, duplicate: str) -> Merge | None: ...

    @abstractmethod
    async def add(self, merge: Merge) -> None:
        """Store a pending merge; it counts for every later check at once, published or not."""


class MergeLock(ABC):
    merge: Merge

    @abstractmethod
    async def mark_published(self, position: LogPosition) -> Merge: ...


class Merges(ABC):
    @abstractmethod
    def serialised(self) -> AbstractAsyncContextManager[MergeLedger]:
        """One merge check at a time, committed when the block ends: two agents cannot merge A->B and B->A."""

    @abstractmethod
    def locked(self, duplicate: str) -> AbstractAsyncContextManager[MergeLock]:
        """Hold a stored merge while its event is published, so concurrent retries publish it once."""


class CorrectionLock(ABC):
    correction: Correction

    @abstractmethod
    async def mark_published(self, position: LogPosition) -> Correction: ...


class Corrections(ABC):
    """Agents' location corrections, by Idempotency-Key."""

    @abstractmethod
    async def get(self, idempotency_key: str) -> Correction | None: ...

    @abstractmethod
    async def add(self, correction: Correction) -> Correction | None:
        """Store a pending correction. None when stored; the existing one when its key is taken."""

    @abstractmethod
    def locked(self, idempotency_key: str) -> AbstractAsyncContextManager[CorrectionLock]:
        """Hold the correction until the block ends, so concurrent retries publish it once."""
