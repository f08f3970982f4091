"""The ports the staff handlers use: the staff store (folded accounts and teams, credentials, the outbox of staff
events) and the mail that carries reset links."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event, PersonalData, SealedPersonalData
from civicloop_events.outbox import Outbox
from civicloop_staff.accounts import StaffAccount
from civicloop_staff.lockout import FailureRecord
from civicloop_staff.oidc import PendingSignIn
from civicloop_staff.one_time_secrets import ResetToken

from civicloop_intake.domain.staff import StaffLogin


class EmailTaken(Exception):
    """Another account signs in with this email."""


@dataclass(frozen=True)
class PendingTotp:
    staff_id: UUID
    secret: str = field(repr=False)
    recovery_digests: tuple[str, ...] = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class AccountRow:
    jurisdiction_id: str
    account: StaffAccount
    contact: SealedPersonalData


class StaffStore(Outbox, ABC):
    """Each method that records a change writes its staff event into the outbox in the same transaction
    (`change_id` is the row's key, then published by `civicloop_events.outbox.publish_stored`)."""

    # -- reading --
    @abstractmethod
    async def login_by_email(self, email_digest: bytes) -> StaffLogin | None: ...

    @abstractmethod
    async def login(self, staff_id: UUID) -> StaffLogin | None: ...

    @abstractmethod
    async def account(self, staff_id: UUID) -> AccountRow | None: ...

    @abstractmethod
    async def known_teams(self, jurisdiction_id: str) -> set[str]: ...

    @abstractmethod
    async def seal_contact(self, staff_id: UUID, contact: PersonalData) -> SealedPersonalData:
        """The contact sealed under a new key of the staff member's own (its owner id is the staff id)."""

    @abstractmethod
    async def unseal_contact(self, sealed: SealedPersonalData) -> PersonalData | None:
        """None when the key was erased."""

    # -- changes, each with its event --
    @abstractmethod
    async def create(
        self, event: Event[Any], *, staff_id: UUID, jurisdiction_id: str, email_digest: bytes | None
    ) -> None:
        """The credentials row of a new account and its `staff.created`; `EmailTaken` when the email is."""

    @abstractmethod
    async def add_change(self, event: Event[Any], *, staff_id: UUID | None) -> None: ...

    @abstractmethod
    async def set_password(
        self,
        staff_id: UUID,
        password_hash: str,
        *,
        at: datetime,
        event: Event[Any],
        spend_reset_token: str | None = None,
    ) -> bool:
        """A new password, the lockout cleared and the event; with `spend_reset_token` (a digest) only if that
        token is still unused (False: it was spent meanwhile, nothing changed)."""

    @abstractmethod
    async def record_attempt(
        self,
        staff_id: UUID,
        failures: FailureRecord,
        *,
        rehashed: str | None = None,
    ) -> None: ...

    @abstractmethod
    async def spend_totp_step(self, staff_id: UUID, step: int) -> bool:
        """Record the TOTP step used; False when that step or a later one was used already (a replay)."""

    @abstractmethod
    async def spend_recovery_code(self, staff_id: UUID, before: tuple[str, ...], after: list[str]) -> bool:
        """Replace the digests left; False when they changed meanwhile (the same code used twice at once)."""

    @abstractmethod
    async def start_totp(self, ticket_digest: str, pending: PendingTotp) -> None:
        """Keep a TOTP secret shown at enrolment (replacing any the account had waiting)."""

    @abstractmethod
    async def pending_totp(self, ticket_digest: str, *, now: datetime) -> PendingTotp | None: ...

    @abstractmethod
    async def enrol_totp(
        self, ticket_digest: str, pending: PendingTotp, *, step: int, event: Event[Any]
    ) -> bool:
        """The waiting secret made the account's, its recovery codes with it; False when it was taken meanwhile."""

    @abstractmethod
    async def add_reset_token(self, staff_id: UUID, token: ResetToken) -> None: ...

    @abstractmethod
    async def reset_token(self, token_digest: str) -> tuple[UUID, ResetToken] | None: ...

    # -- OpenID Connect --
    @abstractmethod
    async def add_oidc_pending(self, pending: PendingSignIn, *, expires_at: datetime) -> None: ...

    @abstractmethod
    async def take_oidc_pending(self, state: str, *, now: datetime) -> PendingSignIn | None:
        """The pending sign-in of `state`, removed: a state answers once."""

    @abstractmethod
    async def linked_staff(self, issuer: str, subject: str) -> UUID | None: ...

    @abstractmethod
    async def link_new_account(self, issuer: str, subject: str, event: Event[Any], *, staff_id: UUID) -> UUID:
        """Create the account of `event` linked to the provider's person; when a concurrent callback linked that
        person first, nothing is created and its staff id is answered."""


class StaffMail(ABC):
    """Sends a staff member the link that sets a new password. The link is a secret: never logged."""

    @abstractmethod
    async def send_reset_link(self, to: str, link: str) -> None: ...
