"""What the notifier's service layer needs from storage (the PostgreSQL adapter implements it on one transaction's
connection) and the shapes it reads."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from civicloop_events.payloads import Channel, MessageKind, NotificationChannel
from civicloop_events.personal_data import SealedPersonalData


@dataclass(frozen=True)
class Resident:
    """A request's resident as its submission said: whom to tell, on what, in which language."""

    request_id: str
    jurisdiction_id: str
    resident_id: UUID
    contact: SealedPersonalData
    preferred_channel: Channel
    language: str


@dataclass(frozen=True)
class ToldNotice:
    """A notice a request's residents were given: what a resident merged into it later still hears."""

    cause_event_id: UUID
    occurred_at: datetime
    kind: MessageKind
    notice: Mapping[str, Any]


@dataclass(frozen=True)
class QueuedMessage:
    notification_id: UUID
    cause_event_id: UUID
    resident: Resident
    about_request_id: str
    kind: MessageKind
    notice: Mapping[str, Any]
    tried_channels: tuple[NotificationChannel, ...]
    channel: NotificationChannel | None
    attempts: int


@dataclass(frozen=True)
class Attempt:
    channel: NotificationChannel
    attempt: int
    provider: str | None
    provider_message_id: str | None
    outcome: str
    error: str | None


class RequestsStore(Protocol):
    """The consumer's side: requests' residents and merges, and the messages queued for them."""

    async def remember_request(self, resident: Resident, *, submitted_at: datetime) -> None: ...

    async def merge(self, duplicate: str, original: str, *, at: datetime) -> None: ...

    async def audience(self, request_id: str, *, at: datetime) -> Sequence[Resident]: ...

    async def told_since(self, request_id: str, since: datetime) -> Sequence[ToldNotice]: ...

    async def queue(
        self,
        *,
        notification_id: UUID,
        cause_event_id: UUID,
        occurred_at: datetime,
        resident: Resident,
        about_request_id: str,
        kind: MessageKind,
        notice: Mapping[str, Any],
        not_before: datetime,
    ) -> bool: ...


class MessagesStore(Protocol):
    """The sender's side, inside the transaction that holds the claimed message."""

    async def claim_due(self, now: datetime) -> QueuedMessage | None: ...

    async def postpone(self, notification_id: UUID, until: datetime) -> None: ...

    async def opted_out(
        self, digests: Mapping[NotificationChannel, bytes]
    ) -> Collection[NotificationChannel]: ...

    async def record_attempt(self, notification_id: UUID, attempt: Attempt) -> None: ...

    async def mark(
        self,
        notification_id: UUID,
        *,
        state: str,
        channel: NotificationChannel | None,
        tried: Collection[NotificationChannel],
        attempts: int,
        next_attempt_at: datetime | None = None,
    ) -> None: ...

    async def set_opt_out(self, digest: bytes, channel: NotificationChannel, opted_out: bool) -> None: ...
