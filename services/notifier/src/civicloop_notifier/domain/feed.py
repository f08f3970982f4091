"""The county's govDelivery feed: which public status updates are broadcast, to which topics, saying what. Pure.

A bulletin is public: the request's number, its category, the block-level place geo made public, the status and a
close or reopen reason. Never a resident, a note, a comment or a precise point. The topics follow the
jurisdiction's naming rule (`TopicScheme`): `<PREFIX>_311_CAT_<CATEGORY>` and `<PREFIX>_311_DIST_<DISTRICT>`, the
prefix being the jurisdiction's (the account's code unless configured), the district the service area geo placed
the request in (an area of a district kind).

"Received" goes out when geo has placed the request (so its district's subscribers hear of it too, with its public
place), or could not place it (then to its category alone).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import (
    LocationResolved,
    LocationUnresolved,
    RequestStatus,
    StatusChanged,
)

from civicloop_notifier.domain.texts import N_, REASON, TRACK

FEED_NAMESPACE = uuid.UUID("6f1f2b8e-5d0c-4c55-9a53-0c1c7e6b9f21")


class FeedKind(str, enum.Enum):
    received = "received"
    acknowledged = "acknowledged"
    closed = "closed"
    reopened = "reopened"


SUBJECT = N_("Report %(number)s: %(category)s")
BODIES: Mapping[FeedKind, str] = {
    FeedKind.received: N_("A report of %(category)s was received, at %(place)s."),
    FeedKind.acknowledged: N_(
        "Report %(number)s (%(category)s, at %(place)s) was acknowledged: a team is on it."
    ),
    FeedKind.closed: N_("Report %(number)s (%(category)s, at %(place)s) was closed."),
    FeedKind.reopened: N_("Report %(number)s (%(category)s, at %(place)s) was reopened."),
}
UNNAMED_PLACE = N_("a place not yet named")


def every_msgid() -> list[str]:
    return [SUBJECT, *BODIES.values(), UNNAMED_PLACE]


@dataclass(frozen=True)
class FeedRequest:
    """What the feed knows of a request: public facts only."""

    request_id: str
    jurisdiction_id: str
    service_code: str
    district: str | None = None
    public_address: str | None = None
    placed: bool = False


@dataclass(frozen=True)
class FeedRule:
    """The naming rule: the topic prefix per jurisdiction (the account's code for the others), the district kinds."""

    account_code: str
    prefixes: Mapping[str, str]
    district_kinds: Collection[str]

    def topics(self, request: FeedRequest) -> tuple[str, ...]:
        """`<PREFIX>_311_CAT_<CATEGORY>` and `<PREFIX>_311_DIST_<DISTRICT>` (the codes `TopicScheme` names, which the
        county creates in govDelivery): upper case, anything but letters and digits an underscore."""
        prefix = self.prefixes.get(request.jurisdiction_id, self.account_code)
        topics = [f"{prefix}_311_CAT_{_code_part(request.service_code)}"]
        if request.district:
            topics.append(f"{prefix}_311_DIST_{_code_part(request.district)}")
        return tuple(sorted(topics))

    def district_of(self, placed: LocationResolved) -> str | None:
        """The first service area of a district kind geo placed the request in."""
        for area in placed.service_areas:
            if area.kind in self.district_kinds:
                return area.area_id
        return None


@dataclass(frozen=True)
class FeedUpdate:
    kind: FeedKind
    facts: Mapping[str, Any]  # the public facts the text is made of: category, place, reason


def update_for(event: Event[Any], request: FeedRequest, *, first_placement: bool) -> FeedUpdate | None:
    """The public update `event` makes of `request` (as folded with the event), or None when it is not broadcast."""
    p = event.payload
    facts = {"category": request.service_code, "place": request.public_address or ""}
    if isinstance(p, LocationResolved | LocationUnresolved):
        return FeedUpdate(FeedKind.received, facts) if first_placement else None
    if not isinstance(p, StatusChanged):
        return None
    if p.status is RequestStatus.closed:
        if p.previous_status is RequestStatus.closed:
            return None
        return FeedUpdate(FeedKind.closed, facts | {"reason": p.reason or ""})
    if p.previous_status is RequestStatus.closed:
        return FeedUpdate(FeedKind.reopened, facts | {"reason": p.reason or ""})
    if p.status is RequestStatus.acknowledged and p.previous_status is not RequestStatus.acknowledged:
        return FeedUpdate(FeedKind.acknowledged, facts)
    return None


def _code_part(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_")


def bulletin_id(cause_event_id: uuid.UUID, topics: tuple[str, ...]) -> uuid.UUID:
    """One bulletin per (event, topic set): the key a replay finds taken."""
    return uuid.uuid5(FEED_NAMESPACE, f"{cause_event_id}:{','.join(sorted(topics))}")


def category_label(service_code: str) -> str:
    return service_code.replace("_", " ").replace("-", " ")


@dataclass(frozen=True)
class BulletinText:
    subject: str
    text: str


def render_bulletin(
    update: FeedUpdate,
    *,
    number: str,
    tracking_link: str,
    translate: Callable[[str], str],
    reason_label: Callable[[str], str],
) -> BulletinText:
    """The bulletin's subject and text, in the jurisdiction's wording (`translate` reads its catalog)."""
    facts = {
        "number": number,
        "category": category_label(str(update.facts.get("category", ""))),
        "place": update.facts.get("place") or translate(UNNAMED_PLACE),
    }
    lines = [translate(BODIES[update.kind]) % facts]
    if reason := update.facts.get("reason"):
        lines.append(translate(REASON) % {"reason": reason_label(str(reason))})
    lines.append(translate(TRACK) % {"link": tracking_link})
    return BulletinText(translate(SUBJECT) % facts, "\n".join(lines))
