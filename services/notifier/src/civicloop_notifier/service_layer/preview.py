"""Before an agent saves an action: who will be notified, and what they will get. Nothing is sent or kept, and no
contact is shown: each resident appears as the request they reported, with their channel and language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civicloop_events import Event

from civicloop_notifier.domain.notices import notice_for
from civicloop_notifier.domain.texts import Texts
from civicloop_notifier.service_layer.ports import RequestsStore
from civicloop_notifier.service_layer.sending import SendingPolicy


@dataclass(frozen=True)
class PreviewedMessage:
    request_id: str  # the resident's own request (a follower's is the duplicate merged into this one)
    channel: str  # the preferred channel; a refusal or an opt-out may move it to the fallback
    language: str
    kind: str
    subject: str
    text: str


async def preview(
    store: RequestsStore, proposed: Event[Any], *, texts: Texts, policy: SendingPolicy
) -> list[PreviewedMessage]:
    notice = notice_for(proposed)
    if notice is None or proposed.request_id is None:
        return []
    out: list[PreviewedMessage] = []
    seen: set[Any] = set()
    for resident in await store.audience(proposed.request_id, at=proposed.occurred_at):
        if resident.resident_id in seen or resident.jurisdiction_id != proposed.jurisdiction_id:
            continue  # told once; and a staff member previews only their own jurisdiction's residents
        seen.add(resident.resident_id)
        rendered = texts.render(
            notice,
            number=proposed.request_id,
            tracking_link=policy.tracking_url.format(number=proposed.request_id),
            language=resident.language,
            jurisdiction_id=resident.jurisdiction_id,
            time_zone=policy.time_zone_of(resident.jurisdiction_id),
        )
        out.append(
            PreviewedMessage(
                request_id=resident.request_id,
                channel=resident.preferred_channel.value,
                language=rendered.language,
                kind=notice.kind.value,
                subject=rendered.subject,
                text=rendered.text,
            )
        )
    return out
