"""The sender port: one `Sender` per send method (email, webhook, open311), called by the sender loop.

A sender delivers one queued item to one body and either returns (delivered; `external_id` when the back-end
gave its own reference) or raises `TemporaryFailure` (try again later: timeouts, 5xx, 408/429, SMTP 4xx) or
`PermanentFailure` (the back-end refused the item as it is: retrying cannot help).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from civicloop_events import PersonalData, SealedPersonalData
from civicloop_events.payloads import BodyDefined, Location, Open311Connection, Priority, SendMethod
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from civicloop_outbound.domain.backend_updates import BackendUpdate


class DispatchPayload(BaseModel):
    """What the dispatcher snapshots into the queue row for the senders (contact sealed, as on the log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    jurisdiction_id: str
    service_code: str
    service_name: str
    description: str = ""
    location: Location
    area_ids: list[str] | None = None
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    media_urls: list[str] = Field(default_factory=list)
    submitted_at: AwareDatetime
    source: str
    priority: Priority = Priority.normal
    team: str | None = None
    analysis_codes: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    priority_email: str | None = None
    contact: SealedPersonalData | None = None
    update: BackendUpdate | None = Field(
        default=None,
        description="set on an `update` row: what the body is told about a request it already has",
    )


@dataclass(frozen=True)
class BodyRecord:
    jurisdiction_id: str
    definition: BodyDefined
    paused: bool = False

    @property
    def body_id(self) -> str:
        return self.definition.body_id

    def open311_connection(self) -> Open311Connection:
        """The body's Open311 connection, for code that reached the body because it has one."""
        if self.definition.open311 is None:
            raise ValueError(f"body {self.jurisdiction_id}/{self.body_id} has no Open311 connection")
        return self.definition.open311


@dataclass(frozen=True)
class OutboundItem:
    """One queued send as a sender sees it. `delivery_id` is stable across retries of the same row, so a back-end
    that records it can drop a repeat; `contact` is set only when `outbound_include_contact` allows it."""

    seq: int
    delivery_id: str
    method: SendMethod
    purpose: str  # deliver | priority_copy | update
    attempt: int
    payload: DispatchPayload
    request_url: str
    contact: PersonalData | None = None


@dataclass(frozen=True)
class SendResult:
    external_id: str | None = None
    destination: str = ""
    answer: str = ""  # what the back-end answered (kept on the row; no secret, nothing personal)


class SendFailure(Exception):
    pass


class TemporaryFailure(SendFailure):
    """Worth trying again later; not before `retry_after_s` when the back-end said so (HTTP Retry-After)."""

    def __init__(self, message: str = "", *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentFailure(SendFailure):
    """Retrying cannot help; the item is given up at once."""


class Undeliverable(PermanentFailure):
    """The body cannot take this item at all (an update for a request it never received, or has no id for): the row
    is recorded as `undeliverable`, not as a failure, and never tried again."""


class UpdatesRefused(Undeliverable):
    """The back-end answered an update with 404, 405 or 501: it takes no updates. The body is remembered as such
    (`outbound.body_update_support`), so its later updates are recorded as undeliverable without a call."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class Sender(abc.ABC):
    method: SendMethod

    @abc.abstractmethod
    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        """Deliver `item` to `body`; raise TemporaryFailure or PermanentFailure when it did not arrive."""

    def destination(self, body: BodyRecord, item: OutboundItem) -> str:
        """Where the item goes, for events and status (an address or endpoint, never a secret)."""
        return ""
