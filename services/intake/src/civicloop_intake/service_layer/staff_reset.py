"""Password reset by an emailed one-time link, and the first password of a new account the same way.

Asking for a link answers the same whether the email has an account or not, and the mail goes out in the
background, so neither the answer nor its time tells. The token travels in the link's fragment (never sent to a
server, so in no access log) and is stored only as its digest; it works once, for 30 minutes, and not after a later
password.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import anyio.to_thread
from civicloop_events.outbox import EventLog
from civicloop_events.payloads.staff import PasswordSetVia, StaffPasswordSet
from civicloop_staff.lockout import LockoutPolicy, after_failure, is_locked
from civicloop_staff.one_time_secrets import ResetVerdict, check_reset_token, digest, issue_reset_token
from civicloop_staff.passwords import PasswordProblem, check_password, hash_password, password_problems
from civicloop_staff.roles import StaffPrincipal

from civicloop_intake.domain.staff import SOURCE_SIGN_IN, email_digest, self_actor, staff_event
from civicloop_intake.service_layer.staff_ports import StaffMail, StaffStore
from civicloop_intake.service_layer.staff_publishing import publish_change

log = logging.getLogger("civicloop.intake.password_reset")


class ResetLinkInvalid(Exception):
    """Unknown, expired, used or superseded: answered alike."""


class CurrentPasswordWrong(Exception):
    """A signed-in password change with a wrong current password (counted towards the lockout: it is guessing)."""


class PasswordRefused(Exception):
    def __init__(self, problems: list[PasswordProblem]) -> None:
        super().__init__(", ".join(p.value for p in problems))
        self.problems = problems


@dataclass
class PasswordReset:
    store: StaffStore
    config_log: EventLog
    mail: StaffMail
    pepper: bytes
    link_base: str  # the staff page that reads the token from its fragment, e.g. https://.../staff/reset
    policy: LockoutPolicy = field(default_factory=LockoutPolicy)
    _sending: set[asyncio.Task[None]] = field(default_factory=set)

    async def request(self, email: str, *, now: datetime) -> None:
        """Send a link if the email has an active account; answer the same either way."""
        login = await self.store.login_by_email(email_digest(self.pepper, email))
        if login is None or login.account is None or not login.account.active:
            log.info("password reset asked for no active account")
            return
        token, record = issue_reset_token(now=now)
        await self.store.add_reset_token(login.staff_id, record)
        self._send_in_background(login.staff_id, email.strip(), f"{self.link_base}#{token}")

    async def invite(self, staff_id: UUID, email: str, *, now: datetime) -> None:
        """A new account's first link (its owner chooses the first password with it)."""
        token, record = issue_reset_token(now=now)
        await self.store.add_reset_token(staff_id, record)
        self._send_in_background(staff_id, email.strip(), f"{self.link_base}#{token}")

    def _send_in_background(self, staff_id: UUID, to: str, link: str) -> None:
        task = asyncio.create_task(self._send(staff_id, to, link), name="staff-reset-mail")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, staff_id: UUID, to: str, link: str) -> None:
        try:
            await self.mail.send_reset_link(to, link)
        except Exception as exc:  # the staff member asks again; the link is not logged
            log.warning(
                "password reset mail not sent", extra={"staff_id": str(staff_id), "error": type(exc).__name__}
            )
        else:
            log.info("password reset mail sent", extra={"staff_id": str(staff_id)})

    async def drain(self) -> None:
        """Wait for mails being sent (at shutdown)."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def complete(self, token: str, new_password: str, *, now: datetime) -> None:
        found = await self.store.reset_token(digest(token))
        login = await self.store.login(found[0]) if found else None
        verdict = (
            check_reset_token(found[1], token, now=now, password_set_at=login.password_set_at)
            if found and login
            else ResetVerdict.unknown
        )
        if verdict is not ResetVerdict.valid or login is None or found is None:
            log.info("password reset refused", extra={"verdict": verdict.value})
            raise ResetLinkInvalid(verdict.value)
        problems = password_problems(new_password)
        if problems:
            raise PasswordRefused(problems)
        password_hash = await anyio.to_thread.run_sync(hash_password, new_password)
        via = PasswordSetVia.reset if login.password_hash is not None else PasswordSetVia.enrolment
        event = staff_event(
            StaffPasswordSet(staff_id=login.staff_id, via=via),
            jurisdiction_id=login.jurisdiction_id,
            actor=self_actor(login.staff_id),
            source=SOURCE_SIGN_IN,
        )
        if not await self.store.set_password(
            login.staff_id, password_hash, at=now, event=event, spend_reset_token=found[1].token_digest
        ):
            raise ResetLinkInvalid("used")
        await publish_change(self.store, self.config_log, event.event_id, what="staff password set")

    async def change(
        self, principal: StaffPrincipal, current_password: str, new_password: str, *, now: datetime
    ) -> None:
        """A signed-in staff member's new password: the current one first (a stolen token alone cannot take the
        account), then the rules; every earlier reset link is void after."""
        login = await self.store.login(principal.staff_id)
        if login is None:
            raise CurrentPasswordWrong("no credentials")
        locked = is_locked(login.failures, now)
        stored = None if locked else login.password_hash
        checked = await anyio.to_thread.run_sync(check_password, stored, current_password)
        if not checked.ok:
            if not locked:
                await self.store.record_attempt(
                    login.staff_id, after_failure(self.policy, login.failures, now)
                )
            raise CurrentPasswordWrong("locked" if locked else "wrong")
        problems = password_problems(new_password)
        if problems:
            raise PasswordRefused(problems)
        password_hash = await anyio.to_thread.run_sync(hash_password, new_password)
        event = staff_event(
            StaffPasswordSet(staff_id=login.staff_id, via=PasswordSetVia.change),
            jurisdiction_id=login.jurisdiction_id,
            actor=principal.actor,
            source=SOURCE_SIGN_IN,
        )
        await self.store.set_password(login.staff_id, password_hash, at=now, event=event)
        await publish_change(self.store, self.config_log, event.event_id, what="staff password changed")
