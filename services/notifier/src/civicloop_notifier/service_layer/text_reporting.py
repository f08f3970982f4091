"""Reporting a problem by text message (SMS or WhatsApp): the inbound webhook hands a text that is neither a keyword
nor a reply about an open request to `TextReporting`, which carries the conversation (`domain/text_report.py`) one
turn further and gives the reply to send back.

The conversation is kept in PostgreSQL under a peppered digest of the number and channel, so a restart keeps it. A
turn is read and written under the row's lock; geo and intake are called between two transactions, with no
connection held, and their result is kept only if no other text of the number moved the conversation meanwhile. The address is looked up through geo's public geocode, the report filed through
intake's public submission route with the conversation's id as the Idempotency-Key, so a retry never files twice.
The request number reaches the resident in the notifier's own "received" message, once the submission is on the log.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from civicloop_events import Event, ServiceDefined
from civicloop_events.payloads import NotificationChannel

from civicloop_notifier.domain.opt_outs import normalised_address
from civicloop_notifier.domain.text_report import (
    Catalog,
    Context,
    Conversation,
    Geocode,
    Place,
    ReportableService,
    SubmissionAnswer,
    Submit,
    Turn,
    after_geocoder_unavailable,
    after_geocoding,
    after_submission,
    question,
    respond,
)

TEXT_CHANNELS = frozenset({NotificationChannel.sms, NotificationChannel.whatsapp})


class GeocoderUnavailable(Exception):
    """The geocoder could not answer (down, slow, refusing): the resident is asked to try again later."""


class PlaceFinder(Protocol):
    async def places(self, jurisdiction_id: str, query: str, *, on_behalf_of: str) -> list[Place]:
        """Places inside the jurisdiction for an address, best first; raises `GeocoderUnavailable`. `on_behalf_of`
        is the resident's pseudonym (`resident_pseudonym`), for per-resident limits."""
        ...


@dataclass(frozen=True)
class TextReport:
    """What is filed: the conversation's report, with the number it came from as the resident's contact."""

    idempotency_key: str
    on_behalf_of: str  # the resident's pseudonym (`resident_pseudonym`), for per-resident limits
    jurisdiction_id: str
    channel: NotificationChannel
    phone: str
    report: Submit


class ReportSubmitter(Protocol):
    async def submit(self, report: TextReport) -> SubmissionAnswer: ...


class TextReportStore(Protocol):
    """The conversation rows and the folded catalogue, on one transaction."""

    async def conversation(self, sender_digest: bytes, *, lock: bool) -> Conversation | None: ...

    async def save_conversation(self, sender_digest: bytes, conversation: Conversation) -> None: ...

    async def reportable_services(self, jurisdiction_id: str) -> list[ReportableService]: ...

    async def define_service(self, event: Event[Any]) -> None: ...


def sender_digest(pepper: bytes, channel: NotificationChannel, sender: str) -> bytes:
    """HMAC-SHA256 of the channel and the normalised number under the deployment's pepper (as opt-outs keep theirs,
    under a purpose of its own)."""
    message = f"text-report:{channel.value}:{normalised_address(channel, sender)}".encode()
    return hmac.new(pepper, message, hashlib.sha256).digest()


def resident_pseudonym(digest: bytes) -> str:
    """A short name for one number's reports, made from its digest (so telling nothing of the number), which the
    notifier gives geo and intake as the client it speaks for (`X-Forwarded-For`): where they list the notifier as a
    trusted proxy, their per-client limits count each resident apart instead of all of them as one client."""
    return "text-report-" + digest[:8].hex()


async def when_service_defined_keep_reportable_service(store: TextReportStore, event: Event[Any]) -> None:
    """The config topic's fold: the latest definition of each service; other configuration events are not ours."""
    if isinstance(event.payload, ServiceDefined):
        await store.define_service(event)


class TextReporting:
    """The text-reporting port the inbound webhook calls (`in_progress`, `handle`)."""

    def __init__(
        self,
        *,
        transaction: Callable[[], AbstractAsyncContextManager[TextReportStore]],
        places: PlaceFinder,
        submitter: ReportSubmitter,
        catalogs: Mapping[str, Catalog],
        pepper: bytes,
        jurisdiction_id: str,
        timeout: timedelta,
        clock: Callable[[], datetime],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.transaction = transaction
        self.places = places
        self.submitter = submitter
        self.catalogs = catalogs
        self.pepper = pepper
        self.jurisdiction_id = jurisdiction_id
        self.timeout = timeout
        self.clock = clock
        self.new_id = new_id

    async def in_progress(self, sender: str, channel: NotificationChannel) -> bool:
        """Whether this number has a report under way on this channel (its texts are the report's answers)."""
        if channel not in TEXT_CHANNELS:
            return False
        async with self.transaction() as store:
            found = await store.conversation(sender_digest(self.pepper, channel, sender), lock=False)
        return found is not None and found.is_open(self.clock(), self.timeout)

    async def handle(self, sender: str, channel: NotificationChannel, text: str, language: str) -> str:
        """One text of the resident's: the conversation one turn further, kept; the reply to send back."""
        if channel not in TEXT_CHANNELS:
            raise ValueError(f"reports by text come by SMS or WhatsApp, not {channel.value}")
        digest = sender_digest(self.pepper, channel, sender)
        async with self.transaction() as store:
            conversation = await store.conversation(digest, lock=True)
            ctx = Context(
                services=await store.reportable_services(self.jurisdiction_id),
                catalogs=self.catalogs,
                now=self.clock(),
                timeout=self.timeout,
            )
            turn = respond(conversation, text, language=language, new_id=self.new_id(), ctx=ctx)
            await store.save_conversation(digest, turn.conversation)
        if turn.action is None:
            return turn.reply
        # geo or intake is asked with no database connection held; the result is kept only if no other text of this
        # number moved the conversation meanwhile (a filing is keyed by the conversation: never twice either way).
        done = await self._act(turn, sender, channel, ctx, resident_pseudonym(digest))
        async with self.transaction() as store:
            kept = await store.conversation(digest, lock=True)
            if kept != turn.conversation:
                return (
                    question(kept, ctx)
                    if kept is not None and kept.is_open(ctx.now, self.timeout)
                    else done.reply
                )
            await store.save_conversation(digest, done.conversation)
        return done.reply

    async def _act(
        self, turn: Turn, sender: str, channel: NotificationChannel, ctx: Context, pseudonym: str
    ) -> Turn:
        match turn.action:
            case Geocode(query=query):
                try:
                    found = await self.places.places(self.jurisdiction_id, query, on_behalf_of=pseudonym)
                except GeocoderUnavailable:
                    return after_geocoder_unavailable(turn.conversation, ctx)
                return after_geocoding(turn.conversation, found, ctx)
            case Submit() as report:
                answer = await self.submitter.submit(
                    TextReport(
                        idempotency_key=f"text-report-{report.conversation_id}",
                        on_behalf_of=pseudonym,
                        jurisdiction_id=self.jurisdiction_id,
                        channel=channel,
                        phone=normalised_address(channel, sender),
                        report=report,
                    )
                )
                return after_submission(turn.conversation, answer, ctx)
        return turn
