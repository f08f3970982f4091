"""The consumer's fold: it keeps what it needs of each request (its resident, sealed contact, channel, language,
jurisdiction, merges) and queues, in the same transaction, the messages the event's residents are owed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import MergedAsDuplicate, MessageKind, ServiceRequestSubmitted

from civicloop_notifier.domain.keys import notification_id
from civicloop_notifier.domain.notices import notice_as_json, notice_for
from civicloop_notifier.service_layer.notice_facts import NoticeFactsStore, fold_notice_facts
from civicloop_notifier.service_layer.ports import RequestsStore, Resident


async def when_request_event_queue_messages(
    store: RequestsStore,
    event: Event[Any],
    *,
    now: datetime,
    max_age: timedelta,
    facts: NoticeFactsStore | None = None,
) -> int:
    """Fold `event` and queue its messages; returns how many were queued (0 for a replay: the keys are taken)."""
    p = event.payload
    if event.request_id is None:
        return 0
    if isinstance(p, ServiceRequestSubmitted) and p.contact is not None:
        await store.remember_request(
            Resident(
                request_id=event.request_id,
                jurisdiction_id=event.jurisdiction_id,
                resident_id=p.contact.resident_id,
                contact=p.contact,
                preferred_channel=p.preferred_channel,
                language=p.language,
            ),
            submitted_at=event.occurred_at,
        )
    notice = notice_for(event)
    if facts is not None:  # a visit's calendar SEQUENCE, a closing's photos
        notice = await fold_notice_facts(facts, event.request_id, event, notice)
    # Who hears it is read before a merge is folded: the duplicate's own resident is told of the merge.
    audience = await store.audience(event.request_id, at=event.occurred_at) if notice is not None else ()
    if isinstance(p, MergedAsDuplicate):
        await store.merge(event.request_id, p.original_request_id, at=event.occurred_at)
    if notice is None or now - event.occurred_at > max_age:
        return 0  # an old event (a first start on an old log) is folded but told to nobody
    queued = await _tell(
        store,
        audience,
        event.event_id,
        event.occurred_at,
        event.request_id,
        notice.kind,
        notice_as_json(notice),
        now,
    )
    if isinstance(p, MergedAsDuplicate):
        # The original's partition may have been read ahead of this one: what it was told since the merge, the
        # duplicate's residents hear now (the keys keep anyone from hearing it twice).
        for told in await store.told_since(p.original_request_id, event.occurred_at):
            queued += await _tell(
                store,
                audience,
                told.cause_event_id,
                told.occurred_at,
                p.original_request_id,
                told.kind,
                told.notice,
                now,
            )
    return queued


async def _tell(
    store: RequestsStore,
    audience: Sequence[Resident],
    cause_event_id: UUID,
    occurred_at: datetime,
    about_request_id: str,
    kind: MessageKind,
    notice: Mapping[str, Any],
    now: datetime,
) -> int:
    queued = 0
    told: set[UUID] = set()
    for resident in audience:
        if resident.resident_id in told:
            continue  # one person following two requests hears it once
        told.add(resident.resident_id)
        queued += await store.queue(
            notification_id=notification_id(cause_event_id, resident.resident_id),
            cause_event_id=cause_event_id,
            occurred_at=occurred_at,
            resident=resident,
            about_request_id=about_request_id,
            kind=kind,
            notice=notice,
            not_before=now,
        )
    return queued
