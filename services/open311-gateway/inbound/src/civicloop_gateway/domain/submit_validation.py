"""The rules of POST Service Request (PR-02..PR-08), checked against the service's definition.

Every broken rule becomes one error description naming the parameter, and for attributes the code, it concerns
(ER-05: Chicago's acceptance test looks for "HOWMANYD required"). All problems of a body are reported together
(ER-02 allows several errors in one response).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from civicloop_events import Location, PersonalData
from civicloop_events.payloads import AttributeDatatype, ServiceAttribute, ServiceType
from civicloop_events.submitted import AcceptedReport
from civicloop_open311.forms import OpenForm

from civicloop_gateway.domain.submit_errors import BadRequest, NotFound

DESCRIPTION_MAX = 4000  # PR-06
ATTRIBUTE_VALUE_MAX = 4000
MEDIA_URLS_MAX = 10  # what a ServiceRequestSubmitted event holds
MEDIA_URL_MAX = 2048
# PR-06: "may contain line breaks, but not html or code". A tag is `<` + a letter, `/` or `!` ... `>`, so prose such
# as "depth < 5 cm" is kept.
_TAG = re.compile(r"<(?:[a-zA-Z/!?][^<>]*)>")
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_LIST_TYPES = (AttributeDatatype.singlevaluelist, AttributeDatatype.multivaluelist)


@dataclass(frozen=True)
class ServiceEntry:
    """A service of a jurisdiction's catalogue, as the write side needs it."""

    jurisdiction_id: str
    service_code: str
    type: ServiceType = ServiceType.realtime
    active: bool = True
    attributes: tuple[ServiceAttribute, ...] = ()
    service_notice: str | None = None


@dataclass(frozen=True, kw_only=True)
class AcceptedRequest(AcceptedReport):
    """A POST that meets every rule: what goes into the `ServiceRequestSubmitted` event (contact still in clear),
    with what the gateway's answer needs besides (PR-09: the service's type and notice)."""

    service_type: ServiceType
    service_notice: str | None = None


def require_service_code(form: OpenForm) -> str:
    code = form.get("service_code")
    if code is None:
        raise BadRequest("service_code was not provided -- can't proceed with the request.")
    if len(code) > 64:
        raise BadRequest("service_code is longer than 64 characters.")
    return code


def check_service(code: str, service: ServiceEntry | None, *, jurisdiction_id: str) -> ServiceEntry:
    """PR-02: an unknown code is 404. A withdrawn service is unknown too: it is no longer in GET services."""
    if service is None or not service.active:
        raise NotFound(f"service_code {code!r} not found in jurisdiction {jurisdiction_id!r}.")
    return service


def accept_request(
    form: OpenForm, service: ServiceEntry, *, default_phone_region: str = "US"
) -> AcceptedRequest:
    errors: list[str] = []
    location = _location(form, errors)
    attributes = attribute_errors_and_values(form.attributes, service.attributes, errors)
    description = read_description(form, errors)
    media_urls = _media_urls(form, errors)
    contact = _contact(form, errors, default_phone_region=default_phone_region)
    if errors or location is None:  # a missing location is always one of the errors
        raise BadRequest(*errors)
    return AcceptedRequest(
        jurisdiction_id=service.jurisdiction_id,
        service_code=service.service_code,
        service_type=service.type,
        description=description,
        location=location,
        attributes=attributes,
        media_urls=media_urls,
        contact=contact,
        service_notice=service.service_notice,
    )


# -- location (PR-03) ------------------------------------------------------------------------------------------


def _coordinate(form: OpenForm, name: str, limit: float, errors: list[str]) -> float | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{name} must be a decimal number (WGS84 degrees).")
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        errors.append(f"{name} must be between -{limit:g} and {limit:g}.")
        return None
    return value


def _location(form: OpenForm, errors: list[str]) -> Location | None:
    before = len(errors)
    has_lat, has_long = form.get("lat") is not None, form.get("long") is not None
    if has_lat != has_long:
        given, missing = ("lat", "long") if has_lat else ("long", "lat")
        errors.append(f"{missing} is required when {given} is given: lat & long must both be sent.")
        return None
    lat = _coordinate(form, "lat", 90, errors)
    long = _coordinate(form, "long", 180, errors)
    address_string = form.get("address_string")
    address_id = form.get("address_id")  # opaque, never looked up (FMS sends `#NOTPINPOINTED#`)
    if address_string is not None and len(address_string) > 500:
        errors.append("address_string is longer than 500 characters.")
    if address_id is not None and len(address_id) > 120:
        errors.append("address_id is longer than 120 characters.")
    if not (has_lat or address_string or address_id):
        errors.append(
            "A full location parameter must be submitted: lat & long, address_string or address_id."
        )
    if len(errors) > before:
        return None
    return Location(lat=lat, long=long, address_string=address_string, address_id=address_id)


# -- attributes (PR-04, PR-05) ----------------------------------------------------------------------------------


def attribute_errors_and_values(
    given: dict[str, list[str]], definitions: tuple[ServiceAttribute, ...], errors: list[str]
) -> dict[str, list[str]]:
    """Check the answers against the definitions; return the answers to keep.

    Answers to codes the service does not ask (FixMyStreet adds `attribute[fixmystreet_id]`, `attribute[uprn]`)
    and to informational attributes (`variable=false`, SD-03) are accepted and not kept (PR-05).
    """
    kept: dict[str, list[str]] = {}
    for definition in sorted(definitions, key=lambda a: (a.order, a.code)):
        if not definition.variable:
            continue
        code = definition.code
        values = given.get(code, [])
        if not values:
            if definition.required:
                errors.append(
                    f"attribute[{code}] required: {definition.description or code} must be answered."
                )
            continue
        problem = _value_problem(definition, values)
        if problem:
            errors.append(f"attribute[{code}] {problem}")
            continue
        kept[code] = (
            sorted(set(values)) if definition.datatype is AttributeDatatype.multivaluelist else values
        )
    return kept


def _value_problem(definition: ServiceAttribute, values: list[str]) -> str | None:
    datatype = definition.datatype
    if datatype is not AttributeDatatype.multivaluelist and len(values) > 1:
        return f"takes one value ({datatype.value}), {len(values)} were given."
    if any(len(v) > ATTRIBUTE_VALUE_MAX for v in values):
        return f"is longer than {ATTRIBUTE_VALUE_MAX} characters."
    keys = [v.key for v in definition.values]
    if datatype in _LIST_TYPES:
        unknown = [v for v in values if v not in keys]
        if unknown:
            return f"has no value with key {unknown[0]!r}; the keys are: {', '.join(keys)}."
    elif datatype is AttributeDatatype.number:
        if not _is_number(values[0]):
            return f"must be a number, got {values[0]!r}."
    elif datatype is AttributeDatatype.datetime:
        if not _is_datetime(values[0]):
            return f"must be an ISO 8601 date-time (e.g. 2010-01-01T00:00:00Z), got {values[0]!r}."
    elif datatype is AttributeDatatype.string and ("\n" in values[0] or "\r" in values[0]):
        return "is a single line of text (string); use no line breaks."
    return None


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# -- description, media, contact (PR-06..PR-08) -----------------------------------------------------------------


def plain_text(text: str) -> str:
    """PR-06: HTML tags removed (scripts and styles with their content); line breaks kept."""
    return _TAG.sub("", _SCRIPT.sub("", text)).strip()


def read_description(form: OpenForm, errors: list[str]) -> str:
    """PR-06: the plain text of `description` (a request's, or an update's comment), within DESCRIPTION_MAX."""
    text = plain_text(form.get("description") or "")
    if len(text) > DESCRIPTION_MAX:
        errors.append(f"description is limited to {DESCRIPTION_MAX:,} characters; {len(text):,} were sent.")
    return text


def _media_urls(form: OpenForm, errors: list[str]) -> list[str]:
    urls = form.all("media_url")
    if len(urls) > MEDIA_URLS_MAX:
        errors.append(f"media_url is accepted at most {MEDIA_URLS_MAX} times; {len(urls)} were sent.")
    if any(len(u) > MEDIA_URL_MAX for u in urls):
        errors.append(f"media_url is longer than {MEDIA_URL_MAX} characters.")
    return urls


def normalise_phone(raw: str, *, default_region: str) -> str | None:
    """E.164 when the number parses (without a country code it is read in `default_region`), else None."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _contact(form: OpenForm, errors: list[str], *, default_phone_region: str) -> PersonalData | None:
    """PR-08: every contact field is optional; a field that cannot be kept is refused, never echoed."""
    name = " ".join(part for part in (form.get("first_name"), form.get("last_name")) if part) or None
    email = form.get("email")
    device_id = form.get("device_id")
    account_id = form.get("account_id")
    phone = form.get("phone")
    before = len(errors)
    if name is not None and len(name) > 200:
        errors.append("first_name and last_name together are longer than 200 characters.")
    if email is not None and (len(email) > 320 or "@" not in email):
        errors.append("email is not an e-mail address.")
    if phone is not None:
        phone = normalise_phone(phone, default_region=default_phone_region) or phone
        if len(phone) > 32:
            errors.append("phone is longer than 32 characters.")
    for label, value in (("device_id", device_id), ("account_id", account_id)):
        if value is not None and len(value) > 200:
            errors.append(f"{label} is longer than 200 characters.")
    if len(errors) > before:
        return None
    data = PersonalData(name=name, email=email, phone=phone, device_id=device_id, account_id=account_id)
    return None if data.is_empty() else data
