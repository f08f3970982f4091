"""The bodies that receive reports (departments, contractors, other jurisdictions) and the routing rules.

All on the jurisdiction-configuration topic, keyed by the jurisdiction.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from pydantic import Field, model_validator

from civicloop_events.payloads.base import EventPayload, FrozenModel, registered
from civicloop_events.payloads.requests import RequestStatus
from civicloop_events.topic_roles import TopicRole


class SendMethod(str, enum.Enum):
    """How a report reaches the body responsible for it."""

    email = "email"
    open311 = "open311"
    webhook = "webhook"


class Priority(str, enum.Enum):
    low = "low"
    normal = "normal"
    high = "high"


class Open311ConnectionV1(FrozenModel):
    """Historical: the connection as `jurisdiction.body.defined` v1 wrote it (before paging, caps and import mapping)."""

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


class Open311Connection(FrozenModel):
    """A back-end's Open311 endpoint (another jurisdiction, a department's system, or an adapter in front of one).

    Secrets never travel on the log: `api_key_ref` names a secret the sending process resolves locally.
    """

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
    # Reading lists (GET requests, servicerequestupdates): see docs/outbound.md, "Paging, caps and lateness".
    paging: str = Field(
        default="auto",
        pattern=r"^(auto|pages|none)$",
        description="auto: use page/page_size when the back-end honours them; pages: always; none: date windows only",
    )
    page_size: int = Field(default=100, ge=1, le=10000, description="rows asked for per page when paging")
    answer_cap: int | None = Field(
        default=None,
        ge=1,
        le=100000,
        description="the most rows the back-end returns in one answer (None: 1000, and the longest answer seen)",
    )
    # Importing what the back-end created.
    import_lookback_h: int = Field(
        default=72,
        ge=1,
        le=24 * 90,
        description="the ongoing import re-reads requests created this far back, so late-published ones arrive",
    )
    import_service_code_map: dict[str, str] = Field(
        default_factory=dict,
        description="the back-end's code -> ours (many to one); read before the reverse of service_code_map",
    )
    import_fallback_service_code: str | None = Field(
        default=None, max_length=64, description="our code for an imported request no mapping matches"
    )
    area_bbox: tuple[float, float, float, float] | None = Field(
        default=None,
        description="[west, south, east, north] in WGS84: an imported point outside it is flagged, not used",
    )

    @model_validator(mode="after")
    def _area_is_a_box(self) -> Open311Connection:
        if self.area_bbox is not None:
            west, south, east, north = self.area_bbox
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                raise ValueError(
                    "area_bbox is [west, south, east, north] in WGS84, west < east, south < north"
                )
        return self


class WebhookConnection(FrozenModel):
    url: str = Field(min_length=1, max_length=500)
    secret_ref: str | None = Field(default=None, max_length=120, description="names the HMAC signing secret")


@registered
class BodyDefinedV1(EventPayload):
    """Historical v1: its Open311 connection had no paging, caps or import mapping."""

    event_type: ClassVar[str] = "jurisdiction.body.defined"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    body_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    send_method: SendMethod = SendMethod.email
    service_codes: list[str] = Field(default_factory=list, description="the categories this body handles")
    category_methods: dict[str, SendMethod] = Field(default_factory=dict, description="per-category override")
    email: str | None = Field(default=None, max_length=320)
    priority_email: str | None = Field(
        default=None, max_length=320, description="also receives high priority"
    )
    open311: Open311ConnectionV1 | None = None
    webhook: WebhookConnection | None = None


@registered
class BodyDefined(EventPayload):
    """A body (department, agency, contractor, another jurisdiction) that receives reports of some categories."""

    event_type: ClassVar[str] = "jurisdiction.body.defined"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

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

    @staticmethod
    def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        """v1 -> v2: every field v2 added to the Open311 connection has a default that keeps v1's behaviour."""
        return dict(data)

    def method_for(self, service_code: str) -> SendMethod:
        return self.category_methods.get(service_code, self.send_method)


@registered
class BodyPaused(EventPayload):
    """Sending to the body stops (maintenance); reports queue and go out, in order, on resume."""

    event_type: ClassVar[str] = "jurisdiction.body.paused"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    body_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=500)


@registered
class BodyResumed(EventPayload):
    event_type: ClassVar[str] = "jurisdiction.body.resumed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    body_id: str = Field(min_length=1, max_length=64)


class RoutingRule(FrozenModel):
    """When every given condition holds, set what the rule sets ("logic assignations"). Rules apply in order."""

    name: str = Field(min_length=1, max_length=120)
    service_codes: list[str] = Field(default_factory=list)
    attribute_equals: dict[str, str] = Field(default_factory=dict)
    area_ids: list[str] = Field(default_factory=list)
    text_pattern: str | None = Field(default=None, max_length=500, description="case-insensitive regex")
    body_id: str | None = None
    team: str | None = Field(default=None, max_length=120)
    priority: Priority | None = None
    analysis_codes: list[str] = Field(default_factory=list)


@registered
class RoutingRulesDefined(EventPayload):
    """The jurisdiction's routing rules, replaced as a whole."""

    event_type: ClassVar[str] = "jurisdiction.routing_rules.defined"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    rules: list[RoutingRule] = Field(default_factory=list)
