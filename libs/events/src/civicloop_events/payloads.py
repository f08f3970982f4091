"""Payload models of the request-lifecycle events, one class per (type, version).

A model is never changed once an event of it was written. A new shape is a new class with `schema_version + 1`
and a pure upcaster from the previous one (registered in `registry.py`); old classes stay, so golden fixtures of
every historical version keep validating.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from civicloop_events.personal_data import SealedPersonalData


class EventPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]


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


class Location(BaseModel):
    """Where the problem is: a WGS84 point, an address, or both (Open311: lat/long, address_string, address_id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, min_length=1, max_length=500)
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


class ServiceRequestSubmittedV1(EventPayload):
    """Historical v1: a flat location and a single media URL."""

    event_type: ClassVar[str] = "intake.service_request.submitted"
    schema_version: ClassVar[int] = 1

    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = None
    media_url: str | None = None
    contact: SealedPersonalData | None = None


class ServiceRequestSubmitted(EventPayload):
    """A resident, agent or partner reported a problem. The request number is the envelope's `request_id`."""

    event_type: ClassVar[str] = "intake.service_request.submitted"
    schema_version: ClassVar[int] = 2

    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=4000)
    location: Location
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Open311 attribute code -> values"
    )
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    contact: SealedPersonalData | None = None
    preferred_channel: Channel = Channel.none


class StatusChanged(EventPayload):
    event_type: ClassVar[str] = "request.status.changed"
    schema_version: ClassVar[int] = 1

    status: RequestStatus
    previous_status: RequestStatus | None = None
    external_status_code: str | None = Field(default=None, max_length=64)
    public_note: str | None = Field(default=None, max_length=4000)


class CommentVisibility(str, enum.Enum):
    public = "public"
    internal = "internal"


class CommentAdded(EventPayload):
    event_type: ClassVar[str] = "request.comment.added"
    schema_version: ClassVar[int] = 1

    text: str = Field(min_length=1, max_length=4000)
    visibility: CommentVisibility = CommentVisibility.internal
    media_urls: list[str] = Field(default_factory=list, max_length=10)


def upcast_submitted_v1_v2(data: dict) -> dict:
    """v1 -> v2: the flat point and address become a `Location`; one media URL becomes a list."""
    data = dict(data)
    location = {
        k: v
        for k, v in (
            ("lat", data.pop("lat", None)),
            ("long", data.pop("long", None)),
            ("address_string", data.pop("address_string", None)),
        )
        if v is not None
    }
    data["location"] = location
    media_url = data.pop("media_url", None)
    data["media_urls"] = [media_url] if media_url else []
    data.setdefault("attributes", {})
    data.setdefault("preferred_channel", Channel.email.value if data.get("contact") else Channel.none.value)
    return data


# -- jurisdiction configuration (topic `jurisdiction.config`, keyed by jurisdiction) ------------------------------


class ServiceType(str, enum.Enum):
    """Open311: realtime answers with an id, batch with a token, blackbox with neither."""

    realtime = "realtime"
    batch = "batch"
    blackbox = "blackbox"


class AttributeDatatype(str, enum.Enum):
    string = "string"
    number = "number"
    datetime = "datetime"
    text = "text"
    singlevaluelist = "singlevaluelist"
    multivaluelist = "multivaluelist"


class AttributeValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)


class ServiceAttribute(BaseModel):
    """An Open311 service-definition attribute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    variable: bool = True
    datatype: AttributeDatatype
    required: bool = False
    datatype_description: str | None = None
    order: int = 0
    description: str = ""
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefined(EventPayload):
    """A service of the jurisdiction's catalogue was created or changed (the latest definition wins)."""

    event_type: ClassVar[str] = "jurisdiction.service.defined"
    schema_version: ClassVar[int] = 1

    service_code: str = Field(min_length=1, max_length=64)
    service_name: str = Field(min_length=1, max_length=200)
    description: str = ""
    group: str = ""
    keywords: list[str] = Field(default_factory=list)
    type: ServiceType = ServiceType.realtime
    attributes: list[ServiceAttribute] = Field(default_factory=list)
    active: bool = True


class ServiceAreaDefined(EventPayload):
    """A service area (council district, planning area, custom) of the jurisdiction, as a GeoJSON geometry in WGS84.

    A new version of an area is a new event; readers keep the versions, so a boundary change never rewrites history.
    """

    event_type: ClassVar[str] = "jurisdiction.service_area.defined"
    schema_version: ClassVar[int] = 1

    area_id: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(
        min_length=1, max_length=64, description="council_district, neighborhood_council, ward, ..."
    )
    geometry: dict = Field(description="GeoJSON Polygon or MultiPolygon, WGS84")
    source: str = Field(default="", max_length=500, description="where the boundary came from")


class PartnerAuthorised(EventPayload):
    """A partner client (a third-party app, a regional partner) may submit to the jurisdiction with this API key.

    Only a SHA-256 digest of the key travels: keys are 256-bit random secrets, so the digest cannot be reversed,
    and the clear key is shown once, to whoever created it.
    """

    event_type: ClassVar[str] = "jurisdiction.partner.authorised"
    schema_version: ClassVar[int] = 1

    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    key_id: str = Field(min_length=1, max_length=32, description="the key's public prefix, shown in listings")
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class PartnerKeyRevoked(EventPayload):
    event_type: ClassVar[str] = "jurisdiction.partner.key_revoked"
    schema_version: ClassVar[int] = 1

    client_id: str = Field(min_length=1, max_length=64)
    key_id: str = Field(min_length=1, max_length=32)


# -- outbound: bodies, routing, sending to back-ends and hearing back ------------------------------------------------


class SendMethod(str, enum.Enum):
    """How a report reaches the body responsible for it."""

    email = "email"
    open311 = "open311"
    webhook = "webhook"


class Priority(str, enum.Enum):
    low = "low"
    normal = "normal"
    high = "high"


class Open311Connection(BaseModel):
    """A back-end's Open311 endpoint (another jurisdiction, a department's system, or an adapter in front of one).

    Secrets never travel on the log: `api_key_ref` names a secret the sending process resolves locally.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str = Field(min_length=1, max_length=500, description="base URL, e.g. https://host/open311/v2")
    jurisdiction_id: str | None = None
    api_key_ref: str | None = Field(default=None, max_length=120)
    format: str = Field(default="xml", pattern=r"^(xml|json)$")
    multivaluelist_style: str = Field(
        default="brackets",
        pattern=r"^(brackets|repeat)$",
        description="attribute[code][]=v or attribute[code]=v repeated",
    )
    id_field: str | None = Field(
        default=None,
        max_length=64,
        description="attribute code that carries CivicLoop's request number to the back-end",
    )
    extra_attributes: dict[str, str] = Field(default_factory=dict)
    service_code_map: dict[str, str] = Field(default_factory=dict, description="our code -> the back-end's")
    status_map: dict[str, RequestStatus] = Field(
        default_factory=dict, description="back-end status or external_status_code (lower case) -> ours"
    )
    updates_method: str = Field(
        default="servicerequestupdates",
        pattern=r"^(servicerequestupdates|requests_updated_after|requests_window|none)$",
    )
    poll_interval_s: int = Field(default=900, ge=10)
    mopup_window_h: int = Field(default=24, ge=1)
    import_requests: bool = False
    import_exclude_service_codes: list[str] = Field(default_factory=list)


class WebhookConnection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1, max_length=500)
    secret_ref: str | None = Field(default=None, max_length=120, description="names the HMAC signing secret")


class BodyDefined(EventPayload):
    """A body (department, agency, contractor, another jurisdiction) that receives reports of some categories."""

    event_type: ClassVar[str] = "jurisdiction.body.defined"
    schema_version: ClassVar[int] = 1

    body_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    send_method: SendMethod = SendMethod.email
    service_codes: list[str] = Field(default_factory=list, description="the categories this body handles")
    category_methods: dict[str, SendMethod] = Field(default_factory=dict, description="per-category override")
    email: str | None = Field(default=None, max_length=320)
    priority_email: str | None = Field(
        default=None, max_length=320, description="also receives high priority"
    )
    open311: Open311Connection | None = None
    webhook: WebhookConnection | None = None

    def method_for(self, service_code: str) -> SendMethod:
        return self.category_methods.get(service_code, self.send_method)


class BodyPaused(EventPayload):
    """Sending to the body stops (maintenance); reports queue and go out, in order, on resume."""

    event_type: ClassVar[str] = "jurisdiction.body.paused"
    schema_version: ClassVar[int] = 1

    body_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=500)


class BodyResumed(EventPayload):
    event_type: ClassVar[str] = "jurisdiction.body.resumed"
    schema_version: ClassVar[int] = 1

    body_id: str = Field(min_length=1, max_length=64)


class RoutingRule(BaseModel):
    """When every given condition holds, set what the rule sets ("logic assignations"). Rules apply in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    service_codes: list[str] = Field(default_factory=list)
    attribute_equals: dict[str, str] = Field(default_factory=dict)
    area_ids: list[str] = Field(default_factory=list)
    text_pattern: str | None = Field(default=None, max_length=500, description="case-insensitive regex")
    body_id: str | None = None
    team: str | None = Field(default=None, max_length=120)
    priority: Priority | None = None
    analysis_codes: list[str] = Field(default_factory=list)


class RoutingRulesDefined(EventPayload):
    """The jurisdiction's routing rules, replaced as a whole."""

    event_type: ClassVar[str] = "jurisdiction.routing_rules.defined"
    schema_version: ClassVar[int] = 1

    rules: list[RoutingRule] = Field(default_factory=list)


class Routed(EventPayload):
    event_type: ClassVar[str] = "request.routed"
    schema_version: ClassVar[int] = 1

    body_id: str | None = None
    team: str | None = None
    priority: Priority = Priority.normal
    analysis_codes: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list, description="names of the rules that matched")


class SentToBackend(EventPayload):
    event_type: ClassVar[str] = "outbound.sent_to_backend"
    schema_version: ClassVar[int] = 1

    body_id: str
    method: SendMethod
    attempt: int = Field(ge=1)
    destination: str = Field(default="", max_length=500, description="address or endpoint, never a secret")


class SendFailed(EventPayload):
    event_type: ClassVar[str] = "outbound.send_failed"
    schema_version: ClassVar[int] = 1

    body_id: str
    method: SendMethod
    attempt: int = Field(ge=1)
    error: str = Field(max_length=2000)
    retry_at: AwareDatetime | None = Field(default=None, description="None: no more automatic retries")


class ExternalReferenceAssigned(EventPayload):
    """The back-end's own id for the request (Open311 service_request_id, work-order number)."""

    event_type: ClassVar[str] = "outbound.external_reference_assigned"
    schema_version: ClassVar[int] = 1

    body_id: str
    external_id: str = Field(min_length=1, max_length=200)


class BackendUpdateReceived(EventPayload):
    event_type: ClassVar[str] = "outbound.backend_update_received"
    schema_version: ClassVar[int] = 1

    body_id: str
    external_id: str
    update_id: str = Field(min_length=1, max_length=200)
    backend_status: str = Field(max_length=120)
    external_status_code: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", max_length=4000)
    media_url: str | None = None
    updated_at: AwareDatetime


class RequestImported(EventPayload):
    """A problem created in a back-end was brought into CivicLoop (followed by its ServiceRequestSubmitted)."""

    event_type: ClassVar[str] = "outbound.request_imported"
    schema_version: ClassVar[int] = 1

    body_id: str
    external_id: str
    backend_service_code: str


# --- Geography (services/geo) -------------------------------------------------------------------------------------


class AreaRef(BaseModel):
    """A service area as it was when a request was placed in it: the version pins the boundary used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    area_id: str = Field(min_length=1, max_length=120)
    kind: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)


class LocationMethod(str, enum.Enum):
    """How the point was obtained."""

    submitted = "submitted"  # the reporter gave lat/long (GPS, a map pin)
    geocoded = "geocoded"  # looked up from the address
    corrected = "corrected"  # an agent placed it by hand (`LocationCorrected`)


class PublicPlace(BaseModel):
    """What public outputs may show of a place: an H3 cell (its centre) and a block-level address, never the point."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    h3_cell: str = Field(min_length=1, max_length=20)
    h3_resolution: int = Field(ge=0, le=15)
    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    address: str | None = Field(
        default=None, max_length=500, description="block level, e.g. '2100 block of W BELLEVUE AVE'"
    )


class LocationResolved(EventPayload):
    """geo placed a request: its point, a readable address, the service areas that own it, and its public form.

    A point outside every service area of the jurisdiction is flagged (`inside_jurisdiction` false), not dropped.
    """

    event_type: ClassVar[str] = "geo.location.resolved"
    schema_version: ClassVar[int] = 1

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    address: str | None = Field(
        default=None, max_length=500, description="as given, or from reverse geocoding"
    )
    method: LocationMethod
    provider: str = Field(
        min_length=1, max_length=64, description="'reporter', 'gazetteer', 'nominatim', ..."
    )
    confidence: float = Field(ge=0, le=1)
    service_areas: list[AreaRef] = Field(default_factory=list)
    inside_jurisdiction: bool
    public: PublicPlace


class UnresolvedReason(str, enum.Enum):
    address_not_found = "address_not_found"
    low_confidence = "low_confidence"
    geocoder_unavailable = "geocoder_unavailable"


class LocationUnresolved(EventPayload):
    """geo could not place a request (an address it cannot find): agents place it by hand."""

    event_type: ClassVar[str] = "geo.location.unresolved"
    schema_version: ClassVar[int] = 1

    reason: UnresolvedReason
    best_confidence: float | None = Field(default=None, ge=0, le=1)
    detail: str = Field(default="", max_length=500)


class LocationCorrected(EventPayload):
    """An agent placed the request by hand (geo could not, or placed it wrongly); geo re-places it from this point."""

    event_type: ClassVar[str] = "request.location.corrected"
    schema_version: ClassVar[int] = 1

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=500)
    note: str = Field(default="", max_length=2000)


class DuplicateCandidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    distance_m: float = Field(ge=0)
    submitted_at: AwareDatetime
    score: float = Field(ge=0, le=1, description="higher is likelier the same problem")


class DuplicateSuspected(EventPayload):
    """Open requests of the same or a related category near this one, best first. Only an agent merges."""

    event_type: ClassVar[str] = "geo.duplicate.suspected"
    schema_version: ClassVar[int] = 1

    candidates: list[DuplicateCandidate] = Field(min_length=1, max_length=50)
    radius_m: float = Field(gt=0)
    window_days: int = Field(ge=1)


class MergedAsDuplicate(EventPayload):
    """An agent merged this request into an original: its resident follows the original from now on."""

    event_type: ClassVar[str] = "request.merged_as_duplicate"
    schema_version: ClassVar[int] = 1

    original_request_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)


class ClusterDetected(EventPayload):
    """A category spikes in one place: `min_points` or more open requests within `eps_m` of each other in the window.

    Not about one request: the envelope's `request_id` is empty and the key is the jurisdiction. The centre is the
    cluster's public H3 cell, so the event is safe to show on a public heat-map.
    """

    event_type: ClassVar[str] = "geo.cluster.detected"
    schema_version: ClassVar[int] = 1

    cluster_id: str = Field(min_length=1, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    request_ids: list[str] = Field(min_length=2)
    centre: PublicPlace
    radius_m: float = Field(ge=0, description="from the centre to the farthest member")
    area_ids: list[str] = Field(default_factory=list)
    window_start: AwareDatetime
    window_end: AwareDatetime
    eps_m: float = Field(gt=0)
    min_points: int = Field(ge=2)
