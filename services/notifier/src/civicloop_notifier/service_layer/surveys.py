"""A resident's answer to "was it fixed?", as the inbound channels hand it over (an SMS reply, an email reply): the
resident found by their contact through the vault, the request by the last close they were asked about, the answer
read (`domain.survey`) and published as `SurveyAnswered`. The contact and the text are not kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from civicloop_events import Actor, ActorKind, Event, derived_event_id
from civicloop_events.payloads import NotificationChannel, SurveyAnswered

from civicloop_notifier.domain.opt_outs import PHONE_CHANNELS
from civicloop_notifier.domain.survey import parse_answer


@dataclass(frozen=True)
class AskedSurvey:
    request_id: str
    jurisdiction_id: str
    cause_event_id: UUID


class SurveyStore(Protocol):
    async def last_survey_asked(self, resident_id: UUID) -> AskedSurvey | None: ...


class SurveyAnswers:
    def __init__(
        self,
        *,
        transaction: Callable[[], AbstractAsyncContextManager[SurveyStore]],
        find_resident: Callable[..., Awaitable[UUID | None]],
        publish: Callable[[Event[Any]], Awaitable[Any]],
    ) -> None:
        self._transaction = transaction
        self._find_resident = find_resident
        self._publish = publish

    async def answer(self, channel: NotificationChannel, address: str, text: str, *, answer_id: str) -> bool:
        """Publish the answer in `text` from `address` on `channel`; False when it is no answer or nobody was
        asked. `answer_id` is the inbound message's id (a provider's SID), so a redelivered reply counts once."""
        parsed = parse_answer(text)
        if parsed is None:
            return False
        if channel in PHONE_CHANNELS:
            resident_id = await self._find_resident(phone=address.removeprefix("whatsapp:"))
        else:
            resident_id = await self._find_resident(email=address)
        if resident_id is None:
            return False
        async with self._transaction() as store:
            asked = await store.last_survey_asked(resident_id)
        if asked is None:
            return False
        payload = SurveyAnswered(
            resident_id=resident_id, fixed=parsed.fixed, nps_score=parsed.nps_score, channel=channel
        )
        await self._publish(
            Event.create(
                payload,
                request_id=asked.request_id,
                jurisdiction_id=asked.jurisdiction_id,
                actor=Actor(kind=ActorKind.resident, id=str(resident_id)),
                source=channel.value,
                event_id=derived_event_id(SurveyAnswered.event_type, asked.cause_event_id, answer_id),
            )
        )
        return True
