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
    purpose: str  # deliver | priority_copy
    attempt: int
    payload: DispatchPayload
    request_url: str
    contact: PersonalData | None = None


@dataclass(frozen=True)
class SendResult:
    external_id: str | None = None
    destination: str = ""


class SendFailure(Exception):
    pass


class TemporaryFailure(SendFailure):
    """Worth trying again later; not before `retry_after_s` when the back-end said so (HTTP Retry-After)."""

    def __init__(self, message: str = "", *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentFailure(SendFailure):
    """Retrying cannot help; the item is given up at once."""


class Sender(abc.ABC):
    method: SendMethod

    @abc.abstractmethod
    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        """Deliver `item` to `body`; raise TemporaryFailure or PermanentFailure when it did not arrive."""

    def destination(self, body: BodyRecord, item: OutboundItem) -> str:
        """Where the item goes, for events and status (an address or endpoint, never a secret)."""
        return ""
