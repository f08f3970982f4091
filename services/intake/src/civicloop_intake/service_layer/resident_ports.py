"""What resident access needs from the outside world; each port has a PostgreSQL (or file) adapter and a fake."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from civicloop_intake.domain.resident_access import (
    CodeVerdict,
    ContactKind,
    PendingCode,
    ResidentContact,
    ResidentSession,
)
from civicloop_intake.domain.tracking import TrackedRequest


@dataclass(frozen=True)
class AccessCodeMessage:
    """A code to deliver to a resident's contact (the one they typed, as it is on file)."""

    to: ResidentContact
    code: str
    expires_at: datetime
    language: str = "en"  # what the resident reads it in: a language `domain.code_texts` writes

    def __repr__(self) -> str:  # never let a stray log line print the code or the contact
        return f"AccessCodeMessage({self.to.kind.value}, expires_at={self.expires_at.isoformat()})"


class CodeNotDelivered(Exception):
    """The channel did not take the code (its words name neither the contact nor the code)."""


class AccessCodeSender(ABC):
    """Delivers access codes: by SMS and email through `civicloop_channels` (`adapters.channel_access_codes`), or
    into the development sink. `send` returns once the channel took the code, and raises otherwise."""

    def delivers(self, kind: ContactKind) -> bool:
        """Whether codes to this kind of contact can go anywhere (a deployment without SMS cannot text one)."""
        return True

    @abstractmethod
    async def send(self, message: AccessCodeMessage) -> None: ...


class ResidentDirectory(ABC):
    """Residents as the vault knows them: found by a contact given with a request, gone once erased."""

    @abstractmethod
    async def find(self, contact: ResidentContact) -> UUID | None: ...

    @abstractmethod
    async def present(self, resident_id: UUID) -> bool:
        """False once the resident was erased."""


class AccessCodes(ABC):
    """One pending code per contact digest."""

    @abstractmethod
    async def put(self, code: PendingCode) -> None:
        """Store `code`, replacing the contact's earlier one."""

    @abstractmethod
    async def settle(
        self, contact_digest: bytes, decide: Callable[[PendingCode | None], CodeVerdict]
    ) -> CodeVerdict:
        """`decide` on the contact's pending code with no other check of it beside, and store the verdict (the code
        kept with its tries, or deleted): a code is accepted once, however many checks race."""


class ResidentSessions(ABC):
    @abstractmethod
    async def add(self, session: ResidentSession) -> None: ...

    @abstractmethod
    async def get(self, token_digest: bytes) -> ResidentSession | None: ...

    @abstractmethod
    async def remove(self, token_digest: bytes) -> None: ...


class ResidentRequests(ABC):
    """The track view's requests by the resident whose contact they carry."""

    @abstractmethod
    async def of(self, resident_id: UUID, *, limit: int) -> Sequence[TrackedRequest]:
        """The resident's requests, the latest submitted first."""


class ContactAttempts(ABC):
    """Attempts per contact digest, counted for every replica (`civicloop_runtime.attempt_limits`)."""

    @abstractmethod
    async def reserve(self, key: str) -> int | None:
        """Count an attempt: None when it may go ahead, else the whole seconds until it may."""

    @abstractmethod
    async def release(self, key: str) -> None:
        """Hand back an attempt that succeeded."""
