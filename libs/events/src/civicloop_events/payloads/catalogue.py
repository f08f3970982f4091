"""A jurisdiction's catalogue: its Open311 services, its service areas and the partners that may submit to it.

All on the jurisdiction-configuration topic, keyed by the jurisdiction.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from pydantic import Field

from civicloop_events.payloads.base import EventPayload, FrozenModel, registered
from civicloop_events.topic_roles import TopicRole


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


class AttributeValue(FrozenModel):
    key: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)


class ServiceAttribute(FrozenModel):
    """An Open311 service-definition attribute."""

    code: str = Field(min_length=1, max_length=64)
    variable: bool = True
    datatype: AttributeDatatype
    required: bool = False
    datatype_description: str | None = None
    order: int = 0
    description: str = ""
    values: list[AttributeValue] = Field(default_factory=list)


@registered
class ServiceDefined(EventPayload):
    """A service of the jurisdiction's catalogue was created or changed (the latest definition wins)."""

    event_type: ClassVar[str] = "jurisdiction.service.defined"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    service_code: str = Field(min_length=1, max_length=64)
    service_name: str = Field(min_length=1, max_length=200)
    description: str = ""
    group: str = ""
    keywords: list[str] = Field(default_factory=list)
    type: ServiceType = ServiceType.realtime
    attributes: list[ServiceAttribute] = Field(default_factory=list)
    active: bool = True


@registered
class ServiceAreaDefined(EventPayload):
    """A service area (council district, planning area, custom) of the jurisdiction, as a GeoJSON geometry in WGS84.

    A new version of an area is a new event; readers keep the versions, so a boundary change never rewrites history.
    """

    event_type: ClassVar[str] = "jurisdiction.service_area.defined"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    area_id: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(
        min_length=1, max_length=64, description="council_district, neighborhood_council, ward, ..."
    )
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS84")
    source: str = Field(default="", max_length=500, description="where the boundary came from")


@registered
class PartnerAuthorised(EventPayload):
    """A partner client (a third-party app, a regional partner) may submit to the jurisdiction with this API key.

    Only a SHA-256 digest of the key travels: keys are 256-bit random secrets, so the digest cannot be reversed,
    and the clear key is shown once, to whoever created it.
    """

    event_type: ClassVar[str] = "jurisdiction.partner.authorised"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    key_id: str = Field(min_length=1, max_length=32, description="the key's public prefix, shown in listings")
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


@registered
class PartnerKeyRevoked(EventPayload):
    event_type: ClassVar[str] = "jurisdiction.partner.key_revoked"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    client_id: str = Field(min_length=1, max_length=64)
    key_id: str = Field(min_length=1, max_length=32)
