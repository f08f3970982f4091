"""What the staff side needs from storage (`adapters/postgres_staff.py` implements it on one transaction's
connection) and the shapes it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from civicloop_events.personal_data import SealedPersonalData

from civicloop_notifier.domain.staff import RecipientRole, Recipients, StaffMember, StaffNotice


@dataclass(frozen=True)
class ClaimedNotice:
    cause_event_id: UUID
    jurisdiction_id: str
    notice: StaffNotice
    attempts: int


@dataclass(frozen=True)
class StaffMessage:
    """One e-mail owed to one staff member, with what it is made of (their contact still sealed)."""

    message_id: UUID
    staff_id: UUID
    role: RecipientRole
    jurisdiction_id: str
    request_id: str | None
    notice: StaffNotice
    contact: SealedPersonalData
    team_name: str | None
    attempts: int


class StaffStore(Protocol):
    # -- the directory, folded from the config topic ---------------------------------------------------------------
    async def staff_created(
        self,
        staff_id: UUID,
        *,
        jurisdiction_id: str,
        contact: SealedPersonalData,
        roles: Sequence[str],
        teams: Sequence[str],
    ) -> None: ...

    async def staff_roles(self, staff_id: UUID, roles: Sequence[str]) -> None: ...

    async def staff_teams(self, staff_id: UUID, teams: Sequence[str]) -> None: ...

    async def staff_active(self, staff_id: UUID, active: bool) -> None: ...

    async def team_defined(self, jurisdiction_id: str, team_id: str, *, name: str, active: bool) -> None: ...

    # -- notices, queued by the requests consumer -----------------------------------------------------------------
    async def queue_notice(
        self,
        *,
        cause_event_id: UUID,
        jurisdiction_id: str,
        request_id: str | None,
        notice: StaffNotice,
        occurred_at: datetime,
    ) -> bool: ...

    # -- the staff sender, inside the transaction that holds the claimed row ---------------------------------------
    async def claim_notice(self, now: datetime) -> ClaimedNotice | None: ...

    async def directory(self, jurisdiction_id: str) -> Sequence[StaffMember]: ...

    async def expand(self, cause_event_id: UUID, recipients: Recipients) -> int: ...

    async def retry_notice(self, cause_event_id: UUID, *, attempts: int, at: datetime | None) -> None: ...

    async def claim_message(self, now: datetime) -> StaffMessage | None: ...

    async def record_attempt(
        self,
        message_id: UUID,
        *,
        attempt: int,
        provider: str | None,
        provider_message_id: str | None,
        outcome: str,
        error: str | None,
    ) -> None: ...

    async def mark_message(
        self, message_id: UUID, *, state: str, attempts: int, next_attempt_at: datetime | None = None
    ) -> None: ...
