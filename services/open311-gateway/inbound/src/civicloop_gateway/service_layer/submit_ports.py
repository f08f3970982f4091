"""What the write handlers need from the outside world; each port has a PostgreSQL or Kafka adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from civicloop_events import Event, PersonalData, SealedPersonalData
from civicloop_events.payloads import RequestStatus

from civicloop_gateway.domain.submit_record import LogPosition, Submission
from civicloop_gateway.domain.submit_validation import ServiceEntry


class EventLogUnavailable(Exception):
    """The broker did not acknowledge in time: nothing was accepted, the client may retry."""


class RequestNumberTaken(Exception):
    """A freshly drawn request number is already in use."""


@dataclass(frozen=True)
class PartnerKey:
    """One authorised key of a partner client in one jurisdiction (a row of the partners view)."""

    jurisdiction_id: str
    client_id: str
    name: str
    key_id: str
    revoked: bool


@dataclass(frozen=True)
class KnownRequest:
    """A request an update may be posted to."""

    service_request_id: str
    jurisdiction_id: str
    status: RequestStatus | None
    submitted_by: str | None  # the partner client that submitted it through this gateway, if one did


class Partners(ABC):
    @abstractmethod
    async def by_digest(self, key_sha256: str) -> list[PartnerKey]:
        """Every key row with this digest (normally one), revoked ones included."""


class Jurisdictions(ABC):
    @abstractmethod
    async def resolve(self, given: str | None) -> str:
        """G-60..G-62: the jurisdiction a request is for; raises BadRequest (missing) or NotFound (unknown)."""


class Catalogue(ABC):
    @abstractmethod
    async def get(self, jurisdiction_id: str, service_code: str) -> ServiceEntry | None: ...


class Vault(ABC):
    @abstractmethod
    async def seal(self, data: PersonalData) -> SealedPersonalData: ...


class EventLog(ABC):
    @abstractmethod
    async def publish(self, event: Event[Any]) -> LogPosition:
        """Return once the broker acknowledged; raise `EventLogUnavailable` otherwise."""


class RequestView(ABC):
    @abstractmethod
    async def wait_until_applied(self, position: LogPosition) -> bool:
        """Read-your-writes: wait (bounded) until the Open311 request view has applied the event at `position`."""


class SubmissionLock(ABC):
    submission: Submission

    @abstractmethod
    async def mark_published(self, position: LogPosition) -> Submission:
        """Record the position; a batch submission's token resolves to its request number from now on (TK-01)."""


class Submissions(ABC):
    @abstractmethod
    async def recent(self, digest: str, *, window: timedelta) -> Submission | None:
        """The submission with this digest made within `window`, if any."""

    @abstractmethod
    async def add(self, submission: Submission, *, window: timedelta) -> Submission | None:
        """Store a pending submission unless one with its digest was made within `window`.

        None when stored; the earlier submission otherwise (a concurrent identical POST won). Concurrent calls
        with one digest are serialised, so exactly one of them stores. Raises `RequestNumberTaken`.
        """

    @abstractmethod
    def locked(self, event_id: UUID) -> AbstractAsyncContextManager[SubmissionLock]:
        """Hold the submission until the block ends, so concurrent retries publish it once."""

    @abstractmethod
    async def submitted_by(self, request_number: str) -> tuple[str, str] | None:
        """(jurisdiction_id, client_id) of a request published through this gateway."""


@dataclass(frozen=True)
class StoredUpdate:
    """A posted update, pending until all its events were acknowledged."""

    update_id: str  # ours, answered to the partner (the id of the update's first event)
    jurisdiction_id: str
    client_id: str
    partner_update_id: str | None
    service_request_id: str
    digest: str
    events_json: list[str]
    published: bool = False
    created_at: datetime | None = None


class UpdateLock(ABC):
    update: StoredUpdate

    @abstractmethod
    async def mark_published(self) -> StoredUpdate: ...


class Updates(ABC):
    @abstractmethod
    async def by_partner_id(
        self, jurisdiction_id: str, client_id: str, partner_update_id: str
    ) -> StoredUpdate | None: ...

    @abstractmethod
    async def add(self, update: StoredUpdate) -> StoredUpdate | None:
        """Store a pending update. None when stored; the existing one when the partner's update_id is taken."""

    @abstractmethod
    def locked(self, update_id: str) -> AbstractAsyncContextManager[UpdateLock]: ...


class Requests(ABC):
    @abstractmethod
    async def get(self, service_request_id: str) -> KnownRequest | None: ...
