"""What a client asks intake to do. Structural checks only; the rules that need the catalogue are in `validation`."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any

from civicloop_events.payloads import DEFAULT_LANGUAGE, LANGUAGE_TAG_PATTERN, LINK_SOURCE_PATTERN, Channel
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, model_validator


class IntakeSource(str, enum.Enum):
    """Where a submission came from; it becomes the envelope's `source`."""

    web = "web"
    sms = "sms"
    whatsapp = "whatsapp"
    agent = "agent"
    phone = "phone"
    mobile = "mobile"


class ContactDetails(BaseModel):
    """How to reach the resident. Sealed before anything is stored or published; hidden from repr."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200, repr=False)
    email: str | None = Field(default=None, min_length=3, max_length=320, repr=False)
    phone: str | None = Field(
        default=None,
        min_length=3,
        max_length=32,
        repr=False,
        description="any common notation; stored as E.164",
    )


_Code = Field(min_length=1, max_length=64)
AttributeCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AttributeValues = Annotated[list[Annotated[str, StringConstraints(max_length=1000)]], Field(max_length=50)]


class SubmitServiceRequest(BaseModel):
    """Report a problem: what (service_code, description), where (lat/long and/or address_string), who (contact)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    jurisdiction_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="defaults to the deployment's jurisdiction"
    )
    service_code: str = _Code
    description: str = Field(min_length=1, max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, min_length=1, max_length=500)
    attributes: dict[AttributeCode, AttributeValues] = Field(
        default_factory=dict, max_length=100, description="Open311 attribute code -> values"
    )
    media_url: HttpUrl | None = None
    contact: ContactDetails | None = None
    preferred_channel: Channel = Channel.none
    language: str = Field(
        default=DEFAULT_LANGUAGE,
        pattern=LANGUAGE_TAG_PATTERN,
        max_length=35,
        description="the resident's language (BCP 47, e.g. `es`): what they hear back in",
    )
    source: IntakeSource = Field(
        default=IntakeSource.web,
        description="how the report arrives (`web`, `agent`, ...), or the slug of the link that brought it "
        "(`poster-d3`: read as `link_source`, arriving by `web`)",
    )
    link_source: str | None = Field(
        default=None,
        pattern=LINK_SOURCE_PATTERN,
        max_length=40,
        description="the poster, kiosk or campaign whose link brought the report (`poster-d3`)",
    )

    @model_validator(mode="before")
    @classmethod
    def _report_link_fields(cls, data: Any) -> Any:
        """A report link's own names (`/report?address=&lat=&lng=&source=poster-d3`, domain.link_sources) are taken
        as the submission's: `address` and `lng` fill `address_string` and `long`; a `source` that is no channel
        word but a slug is the link's source (anything else stays `source`, and is refused there)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for link_name, name in (("address", "address_string"), ("lng", "long")):
            if link_name in data and name not in data:
                data[name] = data.pop(link_name)
        source = data.get("source")
        if (
            isinstance(source, str)
            and source not in _CHANNEL_WORDS
            and _LINK_SOURCE.match(source)
            and "link_source" not in data
        ):
            data["link_source"] = data.pop("source")
        return data


_CHANNEL_WORDS = frozenset(s.value for s in IntakeSource)
_LINK_SOURCE = re.compile(LINK_SOURCE_PATTERN)
