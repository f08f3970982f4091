"""The staff store's pure parts in intake: how an email is found again without being kept, the envelope of a
staff event, and what the store holds for one sign-in. The account rules themselves are `civicloop_staff`'s."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Actor, Event
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads.base import EventPayload
from civicloop_staff.accounts import StaffAccount
from civicloop_staff.lockout import FailureRecord
from civicloop_staff.roles import StaffPrincipal

SOURCE_API = "staff-api"  # an admin through the API
SOURCE_CLI = "admin"  # the operator's command line
SOURCE_SIGN_IN = (
    "staff-sign-in"  # the staff member themself: a password set, TOTP enrolled, a first SSO sign-in
)


def normalised_email(email: str) -> str:
    return email.strip().casefold()


def email_digest(pepper: bytes, email: str) -> bytes:
    """A keyed digest of the sign-in email (HMAC-SHA-256 with the deployment's pepper): the store finds an account
    by what is typed, and a copy of the table gives no list of staff emails."""
    return hmac.new(pepper, b"staff-email:" + normalised_email(email).encode(), hashlib.sha256).digest()


def cli_actor(operator: str) -> Actor:
    """The operator's command line: a system actor naming who ran it (their login on the host, not a name)."""
    return Actor(kind=ActorKind.system, id=f"staff-cli:{operator}"[:120])


def self_actor(staff_id: UUID) -> Actor:
    return Actor(kind=ActorKind.agent, id=str(staff_id))


def staff_event(payload: EventPayload, *, jurisdiction_id: str, actor: Actor, source: str) -> Event[Any]:
    """A staff event on the jurisdiction's configuration topic (keyed by the jurisdiction: no request id)."""
    return Event.create(payload, request_id=None, jurisdiction_id=jurisdiction_id, actor=actor, source=source)


def actor_of(by: StaffPrincipal | None, operator: str) -> tuple[Actor, str]:
    """The envelope's actor and source of a change made by `by` (None: the operator's CLI)."""
    return (cli_actor(operator), SOURCE_CLI) if by is None else (by.actor, SOURCE_API)


@dataclass(frozen=True)
class StaffLogin:
    """What the store knows of one account at sign-in: the folded account (None until its `staff.created` is
    folded) and the credentials intake keeps beside it."""

    staff_id: UUID
    jurisdiction_id: str
    account: StaffAccount | None
    password_hash: str | None = field(default=None, repr=False)
    password_set_at: datetime | None = None
    totp_secret: str | None = field(default=None, repr=False)
    totp_last_step: int | None = None
    recovery_digests: tuple[str, ...] = field(default=(), repr=False)
    failures: FailureRecord = field(default_factory=FailureRecord)

    def as_account(self) -> StaffAccount | None:
        """The account as the sign-in rules see it: roles and state from the log, credentials from the store."""
        if self.account is None:
            return None
        return StaffAccount(
            staff_id=self.account.staff_id,
            roles=self.account.roles,
            teams=self.account.teams,
            disabled=self.account.disabled,
            has_password=self.password_hash is not None,
            totp_enrolled=self.totp_secret is not None,
        )
