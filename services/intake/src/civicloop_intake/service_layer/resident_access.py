"""A resident reaches their own requests: a one-time code sent to the contact on file, exchanged for a session.

Asking for a code answers the same way at the same moment (`answer_floor_s` after the call) whether the contact is
on file or not, and whether the code could be handed to the sender or not: the answer never says who has requests
here. Every failed check of a code is one answer too (`InvalidCode`), given at the same floor.

Guessing is bounded three ways: per client address (the HTTP rate limits), per contact (`code_requests` and
`code_checks`, counted in PostgreSQL for every replica, whether the contact is on file or not), and per code (it
dies after `max_wrong_tries`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from civicloop_events import request_numbers

from civicloop_intake.domain.code_texts import DEFAULT_LANGUAGE
from civicloop_intake.domain.resident_access import (
    CodeCheck,
    InvalidContact,
    check_code,
    contact_digest,
    issue_code,
    new_session,
    parse_contact,
    token_digest,
)
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.ports import Catalogue, TrackingView
from civicloop_intake.service_layer.resident_ports import (
    AccessCodeMessage,
    AccessCodes,
    AccessCodeSender,
    CodeNotDelivered,
    ContactAttempts,
    ResidentDirectory,
    ResidentRequests,
    ResidentSessions,
)
from civicloop_intake.service_layer.track import RequestNotFound, TrackedRequestView, view_of

log = logging.getLogger("civicloop.intake.residents")


class InvalidResidentContact(Exception):
    """Neither an e-mail address nor a phone number (the message never repeats it)."""


class InvalidCode(Exception):
    """No valid code for this contact matches (deliberately vague: unknown contact, expired, used, wrong)."""


class NotSignedIn(Exception):
    """No live session for this token."""


class TooManyCodeAttempts(Exception):
    """Too many codes asked for, or checked, for one contact; retry in `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many attempts for this contact; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class CodesUnavailable(Exception):
    """No sender is configured: codes cannot be delivered in this deployment yet."""


@dataclass(frozen=True)
class OpenedSession:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class ResidentRequestSummary:
    request: TrackedRequest
    service_name: str | None


@dataclass(kw_only=True)
class ResidentAccess:
    directory: ResidentDirectory
    codes: AccessCodes
    sessions: ResidentSessions
    requests: ResidentRequests
    sender: AccessCodeSender | None
    code_requests: ContactAttempts
    code_checks: ContactAttempts
    tracking: TrackingView
    catalogue: Catalogue
    key: bytes
    default_region: str
    code_ttl: timedelta
    session_ttl: timedelta
    max_wrong_tries: int
    answer_floor_s: float
    list_limit: int = 200
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _delivering: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    async def send_code(self, raw_contact: str, *, language: str = DEFAULT_LANGUAGE) -> None:
        """Send a code to `raw_contact` when it is on file; the same answer and timing when it is not.

        The answer waits for the channel only until the floor (with a floor of 0, until the channel answered): a
        slow or hanging provider must not tell who is on file. A delivery still under way goes on in the
        background (`drain` waits for it at shutdown).
        """
        if self.sender is None:
            raise CodesUnavailable
        deadline = time.monotonic() + self.answer_floor_s
        try:
            contact = parse_contact(raw_contact, default_region=self.default_region)
        except InvalidContact as exc:
            raise InvalidResidentContact(str(exc)) from None
        if not self.sender.delivers(contact.kind):
            raise CodesUnavailable
        digest = contact_digest(contact, key=self.key)
        retry_after_s = await self.code_requests.reserve(digest.hex())
        if retry_after_s is not None:
            raise TooManyCodeAttempts(retry_after_s)
        resident_id = await self.directory.find(contact)
        if resident_id is not None:
            code, pending = issue_code(digest, resident_id, key=self.key, now=self.clock(), ttl=self.code_ttl)
            await self.codes.put(pending)
            message = AccessCodeMessage(contact, code, pending.expires_at, language)
            delivery = asyncio.create_task(self._deliver(self.sender, message), name="resident-code")
            self._delivering.add(delivery)
            delivery.add_done_callback(self._delivering.discard)
            timeout = max(0.0, deadline - time.monotonic()) if self.answer_floor_s > 0 else None
            await asyncio.wait({delivery}, timeout=timeout)
        await _until(deadline)

    @staticmethod
    async def _deliver(sender: AccessCodeSender, message: AccessCodeMessage) -> None:
        try:
            await sender.send(message)
        except CodeNotDelivered as exc:  # the same answer either way; the resident asks again
            log.warning("access code not handed to the sender", extra={"error": str(exc)})
        except Exception as exc:  # its words could quote the contact: only its type
            log.warning("access code not handed to the sender", extra={"error": type(exc).__name__})
        else:
            log.info("access code handed to the sender", extra={"contact_kind": message.to.kind.value})

    async def drain(self) -> None:
        """Wait for the codes still being delivered (at shutdown)."""
        if self._delivering:
            await asyncio.gather(*self._delivering, return_exceptions=True)

    async def open_session(self, raw_contact: str, code: str) -> OpenedSession:
        """A session for the resident whose pending code this is; `InvalidCode` for every other case."""
        deadline = time.monotonic() + self.answer_floor_s
        try:
            contact = parse_contact(raw_contact, default_region=self.default_region)
        except InvalidContact:
            await _until(deadline)
            raise InvalidCode from None
        digest = contact_digest(contact, key=self.key)
        retry_after_s = await self.code_checks.reserve(digest.hex())
        if retry_after_s is not None:
            raise TooManyCodeAttempts(retry_after_s)
        now = self.clock()
        verdict = await self.codes.settle(
            digest,
            lambda pending: check_code(
                pending, code, key=self.key, now=now, max_wrong_tries=self.max_wrong_tries
            ),
        )
        if verdict.check is CodeCheck.accepted and verdict.resident_id is not None:
            await self.code_checks.release(digest.hex())
            if await self.directory.present(verdict.resident_id):
                token, session = new_session(verdict.resident_id, now=now, ttl=self.session_ttl)
                await self.sessions.add(session)
                return OpenedSession(token, session.expires_at)
        await _until(deadline)
        raise InvalidCode

    async def resident_of(self, token: str) -> UUID:
        """The resident whose live session this token is; `NotSignedIn` otherwise (expired, signed out, erased)."""
        session = await self.sessions.get(token_digest(token))
        if session is None or self.clock() >= session.expires_at:
            raise NotSignedIn
        if not await self.directory.present(session.resident_id):
            await self.sessions.remove(session.token_digest)
            raise NotSignedIn
        return session.resident_id

    async def close_session(self, token: str) -> None:
        """Sign out; `NotSignedIn` for a token that is no live session (deny by default, here too)."""
        await self.resident_of(token)
        await self.sessions.remove(token_digest(token))

    async def list_requests(self, token: str) -> Sequence[ResidentRequestSummary]:
        resident_id = await self.resident_of(token)
        found = await self.requests.of(resident_id, limit=self.list_limit)
        names: dict[tuple[str, str], str | None] = {}
        for r in found:
            if (r.jurisdiction_id, r.service_code) not in names:
                entry = await self.catalogue.get(r.jurisdiction_id, r.service_code)
                names[(r.jurisdiction_id, r.service_code)] = entry.service_name if entry else None
        return [ResidentRequestSummary(r, names[(r.jurisdiction_id, r.service_code)]) for r in found]

    async def get_request(self, token: str, number: str) -> TrackedRequestView:
        """One of the resident's requests as track shows it; `RequestNotFound` for any other number."""
        resident_id = await self.resident_of(token)
        try:
            canonical = request_numbers.parse(number)
        except request_numbers.InvalidRequestNumber:
            raise RequestNotFound from None
        request = await self.tracking.get(canonical)
        if request is None or request.contact is None or request.contact.resident_id != resident_id:
            raise RequestNotFound
        return await view_of(request, self.tracking, self.catalogue)


async def _until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
