"""A resident's message to us (a text by SMS or WhatsApp, an email reply) and what becomes of it.

A text, in this order: an opt-out, opt-in or help keyword (`civicloop_channels.sms_keywords`) goes to the opt-out
API with the carriers' reply in the resident's language; a report by text under way keeps the conversation
(`TextReportingPort`); an answer to "which request?" picks one and the waiting text lands on it; a "was it fixed?"
answer is a survey answer; any other text lands on the resident's open request as their comment (internal: a word to
the county, never sent to anyone else), or they are asked which one, or, with none open, it goes to text reporting
(or they get a help text). The resident is found by the vault's peppered digest of their number, never by the
number; a text waiting for their answer is sealed with their own key, so it is unreadable once they are erased.

The comment's event id derives from the provider's message id: a webhook the provider retries publishes the same
event, which every consumer's inbox drops. It is on the log (acknowledged) before we answer.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from civicloop_channels.sms_keywords import KeywordAction, Program, keyword_action, keyword_reply
from civicloop_events import Actor, ActorKind, Event, derived_event_id
from civicloop_events.payloads import CommentAdded, CommentVisibility, NotificationChannel
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from civicloop_notifier.domain.conversation import (
    Conversation,
    Route,
    ask_text,
    guess_language,
    landed_text,
    nothing_open_text,
    route_reply,
    survey_thanks_text,
)
from civicloop_notifier.domain.survey import parse_answer
from civicloop_notifier.domain.texts import Catalog
from civicloop_notifier.service_layer.conversation_ports import TextReportingPort
from civicloop_notifier.service_layer.preferences import ContactPreferences
from civicloop_notifier.service_layer.surveys import SurveyAnswers

MAX_COMMENT = 4000  # CommentAdded's bound
_SPANISH_KEYWORDS = frozenset({"PARAR", "ALTO", "INICIAR", "AYUDA"})


@dataclass(frozen=True)
class Waiting:
    """A text waiting for the resident's answer to "which request?", sealed with their key."""

    inbound_id: str
    sealed_text: bytes
    channel: str


class InboundStore(Protocol):
    async def seen(self, inbound_id: str) -> bool: ...

    async def taken(self, inbound_id: str) -> None: ...

    async def open_requests(self, resident_id: UUID) -> Sequence[Any]: ...

    async def language_of(self, resident_id: UUID) -> str | None: ...

    async def conversation(self, resident_id: UUID) -> tuple[Conversation, Any] | None: ...

    async def talking_about(self, resident_id: UUID, request_id: str, at: datetime) -> None: ...

    async def ask(self, resident_id: UUID, choices: Sequence[str], waiting: Any, at: datetime) -> None: ...


@dataclass(frozen=True)
class IncomingMessage:
    """What arrived, from whom, on which channel; `inbound_id` is the provider's id of it (a Twilio SID, a
    Message-ID), which makes what it causes idempotent."""

    inbound_id: str
    channel: NotificationChannel
    sender: str
    text: str


class InboundTexts:
    def __init__(
        self,
        *,
        transaction: Callable[[], AbstractAsyncContextManager[InboundStore]],
        find_resident: Callable[..., Awaitable[UUID | None]],
        key_for: Callable[[UUID], Awaitable[bytes | None]],
        preferences: ContactPreferences,
        surveys: SurveyAnswers,
        publish: Callable[[Event[Any]], Awaitable[Any]],
        program: Program,
        clock: Callable[[], datetime],
        conversation_ttl: timedelta,
        catalogs: Mapping[str, Catalog],
        text_reporting: TextReportingPort | None = None,
    ) -> None:
        self._transaction = transaction
        self._find_resident = find_resident
        self._key_for = key_for
        self._preferences = preferences
        self._surveys = surveys
        self._publish = publish
        self._program = program
        self._clock = clock
        self._ttl = conversation_ttl
        self._text_reporting = text_reporting
        self._catalogs = catalogs

    async def text(self, message: IncomingMessage) -> str | None:
        """Handle a text (SMS or WhatsApp); returns the reply to send back, or None (a retried webhook's text was
        taken already: nothing again)."""
        if await self._seen(message.inbound_id):
            return None
        resident_id = await self._find_resident(phone=message.sender)
        language = await self._language(resident_id) if resident_id else guess_language(message.text)
        action = keyword_action(message.text)
        if action is not None:
            if message.text.strip(" \t\r\n.,!¡?¿").upper() in _SPANISH_KEYWORDS:
                language = "es"
            if action is KeywordAction.opt_out:
                await self._preferences.opt_out(message.channel, message.sender)
            elif action is KeywordAction.opt_in:
                await self._preferences.opt_in(message.channel, message.sender)
            return keyword_reply(action, language, self._program)
        reporting = self._text_reporting
        if reporting is not None and await reporting.in_progress(message.sender, message.channel):
            return await reporting.handle(message.sender, message.channel, message.text, language)
        reply = await self.on_request(resident_id, message, language) if resident_id else None
        if reply is not None:
            return reply
        if reporting is not None:
            return await reporting.handle(message.sender, message.channel, message.text, language)
        return nothing_open_text(self._catalogs, language, self._program.help_contact)

    async def on_request(self, resident_id: UUID, message: IncomingMessage, language: str) -> str | None:
        """Land `message` on the resident's open request (or ask which); None when they have none open."""
        now = self._clock()
        async with self._transaction() as store:
            open_requests = {r.request_id: r for r in await store.open_requests(resident_id)}
            found = await store.conversation(resident_id)
            conversation, waiting = found if found else (None, None)
            decision = route_reply(
                message.text,
                open_requests=list(open_requests),
                conversation=conversation,
                now=now,
                ttl=self._ttl,
            )
            if decision.route is Route.picked and waiting is not None and decision.request_id:
                text = await self._open(resident_id, waiting.sealed_text)
                if text is not None:
                    await self._comment(
                        resident_id,
                        open_requests[decision.request_id],
                        text,
                        waiting.inbound_id,
                        NotificationChannel(waiting.channel),
                    )
                await store.talking_about(resident_id, decision.request_id, now)
                await store.taken(message.inbound_id)
                return landed_text(self._catalogs, decision.request_id, language)
            if parse_answer(message.text) is not None and await self._surveys.answer(
                message.channel, message.sender, message.text, answer_id=message.inbound_id
            ):
                return survey_thanks_text(self._catalogs, language)
            if decision.route is Route.land and decision.request_id:
                await self._comment(
                    resident_id,
                    open_requests[decision.request_id],
                    message.text,
                    message.inbound_id,
                    message.channel,
                )
                await store.talking_about(resident_id, decision.request_id, now)
                await store.taken(message.inbound_id)
                return landed_text(self._catalogs, decision.request_id, language)
            if decision.route is Route.ask:
                sealed = await self._seal(resident_id, message.text)
                if sealed is None:  # erased since the digest was read: nothing of theirs is kept
                    return None
                await store.ask(
                    resident_id,
                    decision.choices,
                    Waiting(message.inbound_id, sealed, message.channel.value),
                    now,
                )
                return ask_text(self._catalogs, decision.choices, language)
        return None

    async def land_on(self, resident_id: UUID, request: Any, message: IncomingMessage) -> None:
        """A message already known to be about `request` (an email reply to its address) lands on it."""
        async with self._transaction() as store:
            if await store.seen(message.inbound_id):
                return
            await self._comment(resident_id, request, message.text, message.inbound_id, message.channel)
            await store.talking_about(resident_id, request.request_id, self._clock())
            await store.taken(message.inbound_id)

    async def _seen(self, inbound_id: str) -> bool:
        async with self._transaction() as store:
            return await store.seen(inbound_id)

    async def _language(self, resident_id: UUID | None) -> str:
        if resident_id is None:
            return "en"
        async with self._transaction() as store:
            return await store.language_of(resident_id) or "en"

    async def _comment(
        self, resident_id: UUID, request: Any, text: str, inbound_id: str, channel: NotificationChannel
    ) -> None:
        payload = CommentAdded(text=text.strip()[:MAX_COMMENT] or "-", visibility=CommentVisibility.internal)
        await self._publish(
            Event.create(
                payload,
                request_id=request.request_id,
                jurisdiction_id=request.jurisdiction_id,
                actor=Actor(kind=ActorKind.resident, id=str(resident_id)),
                source=channel.value,
                event_id=derived_event_id(CommentAdded.event_type, "inbound", inbound_id),
            )
        )

    async def _seal(self, resident_id: UUID, text: str) -> bytes | None:
        key = await self._key_for(resident_id)
        if key is None:
            return None
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, text.encode(), resident_id.bytes)

    async def _open(self, resident_id: UUID, sealed: bytes) -> str | None:
        key = await self._key_for(resident_id)
        if key is None:
            return None
        try:
            return AESGCM(key).decrypt(sealed[:12], sealed[12:], resident_id.bytes).decode()
        except Exception:  # a key replaced since: the text is gone with the old one
            return None
