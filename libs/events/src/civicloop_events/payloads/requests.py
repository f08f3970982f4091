"""The request's own life: submitted, its status and comments, an agent's corrections and merges.

All on the request-events topic, keyed by the request number.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from pydantic import Field, model_validator

from civicloop_events.payloads.base import EventPayload, FrozenModel, registered
from civicloop_events.personal_data import SealedPersonalData
from civicloop_events.topic_roles import TopicRole

ADDRESS_STRING_MAX = 500
UNPLACED_ADDRESS_ID = "civicloop:unplaced"
"""Where a v1 submission that named no place reads as being: no point, no address geo can read, so an agent places it."""


class Channel(str, enum.Enum):
    """How the resident prefers to hear back."""

    sms = "sms"
    whatsapp = "whatsapp"
    email = "email"
    push = "push"
    none = "none"


class RequestStatus(str, enum.Enum):
    """CivicLoop's statuses. Open311 exposes only open/closed; `open311_status` maps them."""

    open = "open"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    on_hold = "on_hold"
    closed = "closed"

    @property
    def open311_status(self) -> str:
        return "closed" if self is RequestStatus.closed else "open"


class Location(FrozenModel):
    """Where the problem is: a WGS84 point, an address, or both (Open311: lat/long, address_string, address_id)."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, min_length=1, max_length=ADDRESS_STRING_MAX)
    address_id: str | None = Field(default=None, min_length=1, max_length=120)

    @model_validator(mode="after")
    def _needs_a_place(self) -> Location:
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat and long must be given together")
        if self.lat is None and not self.address_string and not self.address_id:
            raise ValueError("a location needs lat/long, an address_string or an address_id")
        return self

    @property
    def has_point(self) -> bool:
        return self.lat is not None


_SUBMITTED = "request.submitted"
_SUBMITTED_ALIASES = (
    "intake.service_request.submitted",
)  # its name until contract 1.2 (a producer's prefix)


@registered
class ServiceRequestSubmittedV1(EventPayload):
    """Historical v1: a flat location and a single media URL."""

    event_type: ClassVar[str] = _SUBMITTED
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = _SUBMITTED_ALIASES

    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = None
    media_url: str | None = None
    contact: SealedPersonalData | None = None


@registered
class ServiceRequestSubmittedV2(EventPayload):
    """Historical v2: a `Location` and a media list, without the resident's language."""

    event_type: ClassVar[str] = _SUBMITTED
    schema_version: ClassVar[int] = 2
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = _SUBMITTED_ALIASES

    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)
    location: Location
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Open311 attribute code -> values"
    )
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    contact: SealedPersonalData | None = None
    preferred_channel: Channel = Channel.none

    @staticmethod
    def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        """v1 -> v2: the flat point and address become a `Location`; one media URL becomes a list.

        v1 asked for no place, so every v1 shape must still read as a valid `Location`: a coordinate without its
        partner is no point, an empty address is no address, an address longer than v2 allows is cut, and a
        submission left with no place at all is located at `UNPLACED_ADDRESS_ID`, which geo reports unresolved.
        """
        data = dict(data)
        lat, long = data.pop("lat", None), data.pop("long", None)
        address = (data.pop("address_string", None) or "")[:ADDRESS_STRING_MAX] or None
        location: dict[str, Any] = {"lat": lat, "long": long} if lat is not None and long is not None else {}
        if address:
            location["address_string"] = address
        data["location"] = location or {"address_id": UNPLACED_ADDRESS_ID}
        media_url = data.pop("media_url", None)
        data["media_urls"] = [media_url] if media_url else []
        data.setdefault("attributes", {})
        data.setdefault(
            "preferred_channel", Channel.email.value if data.get("contact") else Channel.none.value
        )
        return data


upcast_submitted_v1_v2 = ServiceRequestSubmittedV2.upcast_v1_v2

LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
"""A BCP 47 language tag as residents' messages are chosen by (`en`, `es`, `es-US`, `zh-Hant-TW`): lower-case
primary language, then subtags."""
DEFAULT_LANGUAGE = "en"


@registered
class ServiceRequestSubmittedV3(EventPayload):
    """Historical v3: the resident's language, without the link that brought the report."""

    event_type: ClassVar[str] = _SUBMITTED
    schema_version: ClassVar[int] = 3
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = _SUBMITTED_ALIASES

    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)
    location: Location
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Open311 attribute code -> values"
    )
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    contact: SealedPersonalData | None = None
    preferred_channel: Channel = Channel.none
    language: str = Field(
        default=DEFAULT_LANGUAGE,
        pattern=LANGUAGE_TAG_PATTERN,
        max_length=35,
        description="the resident's language (BCP 47): what the notifier writes to them in",
    )

    @staticmethod
    def upcast_v2_v3(data: dict[str, Any]) -> dict[str, Any]:
        """v2 -> v3: nobody was asked their language; English is what residents were written to in."""
        return {**data, "language": DEFAULT_LANGUAGE}


LINK_SOURCE_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
"""A link source: a short lower-case slug naming the poster, kiosk or campaign whose link brought a report
(`poster-d3`, `kiosk-library`)."""


@registered
class ServiceRequestSubmitted(EventPayload):
    """A resident, agent or partner reported a problem. The request number is the envelope's `request_id`."""

    event_type: ClassVar[str] = _SUBMITTED
    schema_version: ClassVar[int] = 4
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = _SUBMITTED_ALIASES

    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)
    location: Location
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Open311 attribute code -> values"
    )
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    contact: SealedPersonalData | None = None
    preferred_channel: Channel = Channel.none
    language: str = Field(
        default=DEFAULT_LANGUAGE,
        pattern=LANGUAGE_TAG_PATTERN,
        max_length=35,
        description="the resident's language (BCP 47): what the notifier writes to them in",
    )
    link_source: str | None = Field(
        default=None,
        pattern=LINK_SOURCE_PATTERN,
        max_length=40,
        description="the poster, kiosk or campaign whose link brought the report (`poster-d3`); none when the "
        "resident came on their own. How the report arrived is the envelope's `source`",
    )

    @staticmethod
    def upcast_v3_v4(data: dict[str, Any]) -> dict[str, Any]:
        """v3 -> v4: no link was recorded before; such reports read as having come on their own."""
        return {**data, "link_source": None}


REASON_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
"""A reason code (why a request was closed or reopened): a short snake_case word from the jurisdiction's list."""


@registered
class StatusChangedV1(EventPayload):
    """Historical v1: the status and a public note, without the reason."""

    event_type: ClassVar[str] = "request.status.changed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    status: RequestStatus
    previous_status: RequestStatus | None = None
    external_status_code: str | None = Field(default=None, max_length=64)
    public_note: str | None = Field(default=None, max_length=4000)


@registered
class StatusChanged(EventPayload):
    """The request's status changed: by a back-end's update, a partner, or an agent (who closes and reopens with a
    reason, so a resident can be told why)."""

    event_type: ClassVar[str] = "request.status.changed"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[TopicRole] = TopicRole.request_events

    status: RequestStatus
    previous_status: RequestStatus | None = None
    external_status_code: str | None = Field(default=None, max_length=64)
    public_note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(
        default=None,
        pattern=REASON_CODE_PATTERN,
        description="why: a close reason (closing) or a reopen reason (leaving `closed`), from the jurisdiction's "
        "lists (docs/agents.md)",
    )
    referred_to: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="closed as not ours: the organisation the resident should turn to (public)",
    )

    @staticmethod
    def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        """v1 -> v2: no reason was given (back-ends and partners gave none, agents could not close)."""
        return dict(data)


class CommentVisibility(str, enum.Enum):
    public = "public"
    internal = "internal"


@registered
class CommentAdded(EventPayload):
    event_type: ClassVar[str] = "request.comment.added"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    text: str = Field(min_length=1, max_length=4000)
    visibility: CommentVisibility = CommentVisibility.internal
    media_urls: list[str] = Field(default_factory=list, max_length=10)


@registered
class LocationCorrected(EventPayload):
    """An agent placed the request by hand (geo could not, or placed it wrongly); geo re-places it from this point."""

    event_type: ClassVar[str] = "request.location.corrected"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=500)
    note: str = Field(default="", max_length=2000)


@registered
class MergedAsDuplicate(EventPayload):
    """An agent merged this request into an original: its resident follows the original from now on."""

    event_type: ClassVar[str] = "request.merged_as_duplicate"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    original_request_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)
