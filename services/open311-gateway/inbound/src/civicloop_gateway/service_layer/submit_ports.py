"""What the write handlers need from the outside world; each port has a PostgreSQL or Kafka adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta

from civicloop_events import PersonalData, SealedPersonalData
from civicloop_events.outbox import EventLog as EventLog  # the contract's ports, re-exported for the gateway
from civicloop_events.outbox import EventLogUnavailable as EventLogUnavailable
from civicloop_events.outbox import Outbox
from civicloop_events.payloads import RequestStatus
from civicloop_events.request_numbers import RequestNumberTaken as RequestNumberTaken

from civicloop_gateway.domain.submit_record import LogPosition, Submission
from civicloop_gateway.domain.submit_validation import ServiceEntry


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

    @abstractmethod
    async def record_use(self, key: PartnerKey, *, let_in: bool) -> None:
        """One more request with this key, let in or refused (revoked, another jurisdiction's), used now."""


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


class RequestView(ABC):
    @abstractmethod
    async def wait_until_applied(self, position: LogPosition) -> bool:
        """Read-your-writes: wait (bounded) until the Open311 request view has applied the event at `position`."""


class Submissions(Outbox):
    """Partners' submissions; the outbox of their `ServiceRequestSubmitted`, keyed by event id.

    Marking one published also resolves a batch submission's token to its request number (TK-01).
    """

    @abstractmethod
    async def recent(self, digest: str, *, window: timedelta) -> Submission | None:
        """The submission with this digest made within `window`, if any."""

    @abstractmethod
    async def add(self, submission: Submission, *, window: timedelta) -> Submission | None:
        """Store a pending submission unless one with its digest was made within `window`.

        None when stored; the earlier submission otherwise (a concurrent identical POST won). Concurrent calls
        with one digest are serialised, so exactly one of them stores. Raises `RequestNumberTaken` when another
        submission has the number; an adapter that sees the requests on the log refuses their numbers too (then
        `SubmitContext.on_the_log` need not ask again).
        """

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


class Updates(Outbox):
    """Posted updates; the outbox of their events, keyed by `update_id`."""

    @abstractmethod
    async def by_partner_id(
        self, jurisdiction_id: str, client_id: str, partner_update_id: str
    ) -> StoredUpdate | None: ...

    @abstractmethod
    async def add(self, update: StoredUpdate) -> StoredUpdate | None:
        """Store a pending update. None when stored; the existing one when the partner's update_id is taken."""


class Requests(ABC):
    @abstractmethod
    async def get(self, service_request_id: str) -> KnownRequest | None: ...
