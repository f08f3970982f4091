"""The rules a submission must meet beyond its shape; every broken rule is reported against the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from civicloop_events import Location, PersonalData
from civicloop_events.payloads import AttributeDatatype, Channel
from civicloop_events.submitted import AcceptedReport

from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.commands import IntakeSource, SubmitServiceRequest
from civicloop_intake.domain.contact import (
    InvalidContact,
    normalise_email,
    normalise_phone,
    unreachable_reason,
)

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """One broken rule, located like FastAPI's own validation errors (`("body", "contact", "phone")`)."""

    loc: Loc
    msg: str
    type: str


class InvalidSubmission(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, kw_only=True)
class AcceptedSubmission(AcceptedReport):
    """A submission that meets every rule, normalised (E.164 phone, checked e-mail, one `Location`)."""

    preferred_channel: Channel = Channel.none
    source: IntakeSource = IntakeSource.web


def check_submission(
    cmd: SubmitServiceRequest, *, jurisdiction_id: str, service: CatalogueEntry | None, default_region: str
) -> AcceptedSubmission:
    """Accept `cmd` for `jurisdiction_id`, given the catalogue entry of its service code (None when unknown)."""
    errors: list[FieldError] = []
    errors += _service_errors(cmd, jurisdiction_id, service)
    errors += _location_errors(cmd)
    contact, contact_errors = _normalised_contact(cmd, default_region)
    errors += contact_errors
    if not contact_errors:
        reason = unreachable_reason(
            cmd.preferred_channel,
            phone=contact.phone if contact else None,
            email=contact.email if contact else None,
        )
        if reason:
            errors.append(FieldError(("body", "preferred_channel"), reason, "channel_unreachable"))
    if errors:
        raise InvalidSubmission(errors)
    return AcceptedSubmission(
        jurisdiction_id=jurisdiction_id,
        service_code=cmd.service_code,
        description=cmd.description,
        location=Location(
            lat=cmd.lat,
            long=cmd.long,
            address_string=cmd.address_string,
        ),
        attributes={code: list(values) for code, values in cmd.attributes.items()},
        media_urls=[str(cmd.media_url)] if cmd.media_url else [],
        contact=contact,
        preferred_channel=cmd.preferred_channel,
        language=cmd.language,
        source=cmd.source,
        link_source=cmd.link_source,
    )


def _service_errors(
    cmd: SubmitServiceRequest, jurisdiction_id: str, service: CatalogueEntry | None
) -> list[FieldError]:
    if service is None:
        return [
            FieldError(
                ("body", "service_code"),
                f"unknown service code {cmd.service_code!r} in jurisdiction {jurisdiction_id!r}",
                "unknown_service_code",
            )
        ]
    if not service.active:
        return [
            FieldError(
                ("body", "service_code"),
                f"service {cmd.service_code!r} no longer takes requests in jurisdiction {jurisdiction_id!r}",
                "inactive_service_code",
            )
        ]
    return _attribute_errors(cmd.attributes, service)


def _attribute_errors(given: dict[str, list[str]], service: CatalogueEntry) -> list[FieldError]:
    errors: list[FieldError] = []
    for code, values in given.items():
        loc = ("body", "attributes", code)
        definition = service.attribute(code)
        if definition is None or not definition.variable:
            errors.append(
                FieldError(loc, f"not a question of service {service.service_code!r}", "unknown_attribute")
            )
            continue
        problem = _value_problem(definition.datatype, values, {v.key for v in definition.values})
        if problem:
            errors.append(FieldError(loc, problem, "invalid_attribute_value"))
    # A `required` answer that is missing is not an error here: SMS, phone agents and imported reports often cannot
    # ask every question, and a report must never be lost for it. What is given must fit the definition.
    return errors


def _value_problem(datatype: AttributeDatatype, values: list[str], keys: set[str]) -> str | None:
    if datatype is AttributeDatatype.singlevaluelist:
        if len(values) > 1:
            return "takes one value"
        if values and values[0] not in keys:
            return f"must be one of {sorted(keys)}"
    elif datatype is AttributeDatatype.multivaluelist:
        unknown = [v for v in values if v not in keys]
        if unknown:
            return f"must be among {sorted(keys)}"
    elif datatype is AttributeDatatype.number:
        try:
            [float(v) for v in values]
        except ValueError:
            return "must be a number"
    elif datatype is AttributeDatatype.datetime:
        try:
            [datetime.fromisoformat(v) for v in values]
        except ValueError:
            return "must be an ISO 8601 date-time"
    return None


def _location_errors(cmd: SubmitServiceRequest) -> list[FieldError]:
    if cmd.lat is not None and cmd.long is None:
        return [FieldError(("body", "long"), "required when lat is given", "missing")]
    if cmd.long is not None and cmd.lat is None:
        return [FieldError(("body", "lat"), "required when long is given", "missing")]
    if cmd.lat is None and not cmd.address_string:
        return [
            FieldError(("body", "lat"), "lat and long, or address_string, are required", "missing"),
            FieldError(
                ("body", "address_string"), "address_string, or lat and long, are required", "missing"
            ),
        ]
    return []


def _normalised_contact(
    cmd: SubmitServiceRequest, default_region: str
) -> tuple[PersonalData | None, list[FieldError]]:
    given = cmd.contact
    if given is None or not (given.name or given.email or given.phone):
        return None, []
    errors = []
    phone = email = None
    if given.phone:
        try:
            phone = normalise_phone(given.phone, default_region=default_region)
        except InvalidContact as exc:
            errors.append(FieldError(("body", "contact", "phone"), str(exc), "invalid_phone"))
    if given.email:
        try:
            email = normalise_email(given.email)
        except InvalidContact as exc:
            errors.append(FieldError(("body", "contact", "email"), str(exc), "invalid_email"))
    if errors:
        return None, errors
    return PersonalData(name=given.name, email=email, phone=phone), []
