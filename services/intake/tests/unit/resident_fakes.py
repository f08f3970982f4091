"""In-memory twins of resident access's ports, and a `ResidentAccess` on them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from civicloop_intake.domain.resident_access import (
    CodeVerdict,
    PendingCode,
    ResidentContact,
    ResidentSession,
)
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.resident_access import ResidentAccess
from civicloop_intake.service_layer.resident_ports import (
    AccessCodeMessage,
    AccessCodes,
    AccessCodeSender,
    ResidentDirectory,
    ResidentRequests,
    ResidentSessions,
)
from intake_fakes import FakeCatalogue, FakeTrackAttempts, FakeTrackingView

KEY = b"resident-access-test-key"


class FakeDirectory(ResidentDirectory):
    def __init__(self) -> None:
        self.by_contact: dict[ResidentContact, UUID] = {}
        self.erased: set[UUID] = set()

    async def find(self, contact: ResidentContact) -> UUID | None:
        found = self.by_contact.get(contact)
        return None if found in self.erased else found

    async def present(self, resident_id: UUID) -> bool:
        return resident_id not in self.erased


class FakeCodes(AccessCodes):
    def __init__(self) -> None:
        self.rows: dict[bytes, PendingCode] = {}
        self._lock = asyncio.Lock()

    async def put(self, code: PendingCode) -> None:
        self.rows[code.contact_digest] = code

    async def settle(
        self, contact_digest: bytes, decide: Callable[[PendingCode | None], CodeVerdict]
    ) -> CodeVerdict:
        async with self._lock:
            verdict = decide(self.rows.get(contact_digest))
            if verdict.kept is not None:
                self.rows[contact_digest] = verdict.kept
            else:
                self.rows.pop(contact_digest, None)
            return verdict


class FakeSessions(ResidentSessions):
    def __init__(self) -> None:
        self.rows: dict[bytes, ResidentSession] = {}

    async def add(self, session: ResidentSession) -> None:
        self.rows[session.token_digest] = session

    async def get(self, token_digest: bytes) -> ResidentSession | None:
        return self.rows.get(token_digest)

    async def remove(self, token_digest: bytes) -> None:
        self.rows.pop(token_digest, None)


class FakeResidentRequests(ResidentRequests):
    def __init__(self, tracking: FakeTrackingView) -> None:
        self.tracking = tracking

    async def of(self, resident_id: UUID, *, limit: int) -> Sequence[TrackedRequest]:
        mine = [r for r in self.tracking.rows.values() if r.contact and r.contact.resident_id == resident_id]
        return sorted(mine, key=lambda r: r.submitted_at, reverse=True)[:limit]


class SentCodes(AccessCodeSender):
    def __init__(self, *, failing: bool = False) -> None:
        self.sent: list[AccessCodeMessage] = []
        self.failing = failing

    async def send(self, message: AccessCodeMessage) -> None:
        if self.failing:
            raise ConnectionError("the notifier is away")
        self.sent.append(message)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def resident_access(
    tracking: FakeTrackingView, catalogue: FakeCatalogue, **overrides: Any
) -> tuple[ResidentAccess, FakeDirectory, SentCodes, Clock]:
    directory, sender, clock = FakeDirectory(), SentCodes(), Clock()
    settings: dict[str, Any] = {
        "directory": directory,
        "codes": FakeCodes(),
        "sessions": FakeSessions(),
        "requests": FakeResidentRequests(tracking),
        "sender": sender,
        "code_requests": FakeTrackAttempts(max_attempts=3),
        "code_checks": FakeTrackAttempts(max_attempts=10),
        "tracking": tracking,
        "catalogue": catalogue,
        "key": KEY,
        "default_region": "US",
        "code_ttl": timedelta(minutes=10),
        "session_ttl": timedelta(hours=1),
        "max_wrong_tries": 5,
        "answer_floor_s": 0.1,
        "clock": clock,
    }
    settings.update(overrides)
    return ResidentAccess(**settings), directory, sender, clock
