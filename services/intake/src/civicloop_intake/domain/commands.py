"""What a client asks intake to do. Structural checks only; the rules that need the catalogue are in `validation`."""

from __future__ import annotations

import enum
from typing import Annotated

from civicloop_events.payloads import DEFAULT_LANGUAGE, LANGUAGE_TAG_PATTERN, Channel
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints


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
    source: IntakeSource = IntakeSource.web
