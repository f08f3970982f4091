"""The fold of `requests.events` into the Open311 view: pure, so every rule is testable without a database.

A request's row holds exactly what the Open311 request object shows (SR-01..SR-17) plus its jurisdiction, point,
source and what `extensions=true` adds; never the contact (SR-21: the sealed contact is not even read). Updates
for `servicerequestupdates` (FX-01) are the public changes, one each, keyed by the event id: status changes (an
agent's close or reopen explained by its reason when it has no note), PUBLIC comments, category changes and visits
(said without their time or place: `work_notes`). The latest public word gives an open request's `status_notes`
(SR-03; a closed request's stay its close note). Assignments, priorities and internal comments are not Open311's.

A request imported from a back-end shows the back-end's agency (SR-07): its `RequestImported` names it, and a
later `BackendUpdateReceived` naming another replaces it. The import comes before the submission that opens the
row, possibly in an earlier batch, so what it says is kept (`ImportRow`) until the submission is folded.

Public outputs never show where a resident is (DESIGN §4): the row's `address`, `lat` and `long` — the fields GETs
serve — are the public place (an H3 cell's centre and a block-level address, `civicloop_places`), made from what
was submitted and replaced by geo's `LocationResolved.public`. The radius search runs on the same public point
(`point_lat`, `point_long` -> the `location` column): searching on the exact point would let anyone narrow a request
down to it with repeated small-radius queries. Neither the exact point nor the submitted address is kept.

Free text the GETs show (the description, status notes, updates' descriptions) is what residents and agents typed:
it is kept with its phones and emails replaced by markers (`civicloop_places.scrub.scrub_contacts`). A name typed
into it is not recognised, so it stays; so do house numbers (a problem's place, as Open311 clients expect).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    LocationResolved,
    PublicPlace,
    RequestImported,
    RequestStatus,
    ServiceRequestSubmitted,
    StatusChanged,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_open311.dates import format_w3c
from civicloop_open311.documents import REQUEST_FIELDS, RenderedRequest, rendered_request
from civicloop_places import DEFAULT_RESOLUTION, block_address, public_place
from civicloop_places.scrub import scrub_contacts

from civicloop_gateway.domain.statuses import extended_status, open311_status
from civicloop_gateway.domain.work_notes import (
    VISIT_CANCELLED,
    VISIT_RESCHEDULED,
    VISIT_SCHEDULED,
    closed_as,
    reason_text,
)

# What each visit event says in Open311 (work_notes: never when or where).
_VISIT_WORDS: dict[type[Any], str] = {
    VisitScheduled: VISIT_SCHEDULED,
    VisitRescheduled: VISIT_RESCHEDULED,
    VisitCancelled: VISIT_CANCELLED,
}


@dataclass(frozen=True)
class RequestRow:
    service_request_id: str
    jurisdiction_id: str
    status: str
    civicloop_status: RequestStatus
    service_code: str
    description: str
    requested_datetime: datetime
    updated_datetime: datetime
    source: str
    last_event_id: UUID
    status_notes: str | None = None
    service_name: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    expected_datetime: datetime | None = None
    address: str | None = None  # public: block level, or None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None  # public: the centre of `h3_cell`
    long: float | None = None
    media_url: str | None = None
    media_urls: tuple[str, ...] = ()
    h3_cell: str | None = None
    h3_resolution: int = (
        DEFAULT_RESOLUTION  # what the public place was made at (also when there is no point yet)
    )
    point_lat: float | None = None  # what the radius search finds: the public point too (see the module doc)
    point_long: float | None = None


@dataclass(frozen=True)
class UpdateRow:
    update_id: UUID
    service_request_id: str
    jurisdiction_id: str
    status: str
    updated_datetime: datetime
    description: str
    media_url: str | None = None
    external_status_code: str | None = None


@dataclass(frozen=True)
class ImportRow:
    """What a back-end's import says of a request the view has no row for yet (its submission follows)."""

    service_request_id: str
    agency_responsible: str | None
    event_id: UUID


@dataclass(frozen=True)
class Change:
    """What one event does to the view: the request's new row (None: leave it), an update to record, and an import
    to keep for the submission that follows it."""

    request: RequestRow | None = None
    update: UpdateRow | None = None
    imported: ImportRow | None = None


NO_CHANGE = Change()


def submitted_row(
    event: Event[ServiceRequestSubmitted],
    *,
    service_name: str | None,
    resolution: int = DEFAULT_RESOLUTION,
    imported: ImportRow | None = None,
) -> RequestRow:
    """The row a submission opens; `imported`: what the back-end's import of it said, when it was imported."""
    p = event.payload
    loc = p.location
    return RequestRow(
        service_request_id=event.request_id or "",
        jurisdiction_id=event.jurisdiction_id,
        status=open311_status(RequestStatus.open),
        civicloop_status=RequestStatus.open,
        service_code=p.service_code,
        service_name=service_name,
        description=scrub_contacts(p.description),
        requested_datetime=event.occurred_at,
        updated_datetime=event.occurred_at,
        source=event.source,
        last_event_id=event.event_id,
        address_id=loc.address_id,
        **(place := _submitted_place(loc.lat, loc.long, loc.address_string, resolution)),
        point_lat=place["lat"],
        point_long=place["long"],
        media_url=p.media_urls[0] if p.media_urls else None,
        media_urls=tuple(p.media_urls),
        agency_responsible=imported.agency_responsible if imported else None,
    )


def _shown(place: PublicPlace) -> dict[str, Any]:
    """The row's public fields from a public place."""
    return {
        "h3_cell": place.h3_cell,
        "h3_resolution": place.h3_resolution,
        "lat": place.lat,
        "long": place.long,
        "address": place.address,
    }


def _submitted_place(
    lat: float | None, long: float | None, address: str | None, resolution: int
) -> dict[str, Any]:
    """The public fields of what was submitted; an address-only request has no public point until geo places it."""
    if lat is None or long is None:
        return {
            "h3_cell": None,
            "h3_resolution": resolution,
            "lat": None,
            "long": None,
            "address": block_address(address),
        }
    return _shown(public_place(lat, long, address, resolution=resolution))


def fold(
    before: RequestRow | None,
    event: Event[Any],
    *,
    service_name: str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    imported: ImportRow | None = None,
) -> Change:
    """The effect of `event` on the request `before` (None when the view has not seen the request).

    `resolution` is the H3 resolution of the public point made from a submission; `imported` what the import of the
    request said before its submission (kept from an earlier event).
    """
    if event.request_id is None:
        return NO_CHANGE
    payload = event.payload
    if isinstance(payload, ServiceRequestSubmitted):
        if before is not None:
            return NO_CHANGE  # the request exists: a second submission event never resets it
        return Change(
            request=submitted_row(event, service_name=service_name, resolution=resolution, imported=imported)
        )
    if isinstance(payload, StatusChanged):
        return _status_changed(before, event, payload)
    if isinstance(payload, CommentAdded):
        return _comment_added(before, event, payload)
    if isinstance(payload, LocationResolved):
        return _location_resolved(before, event, payload)
    if isinstance(payload, RequestImported):
        return _imported(before, event, payload)
    if isinstance(payload, BackendUpdateReceived):
        return _backend_update(before, event, payload)
    if isinstance(payload, CategoryChanged):
        return _category_changed(before, event, payload, service_name=service_name)
    if type(payload) in _VISIT_WORDS:
        return _public_change(before, event, description=_VISIT_WORDS[type(payload)])
    # Assignments, priorities and anything else staff keep to themselves: nothing Open311 shows.
    return NO_CHANGE


# What `rendered` writes; raised whenever its output changes, so rows rendered before are rendered again (the
# reads serve a row of another version from its columns meanwhile).
RENDERING = 1


def rendered(row: RequestRow) -> RenderedRequest | None:
    """The row's Open311 request object in JSON and XML, as a list of requests shows it (service name left out),
    written when the row changes so a read only assembles it. None when it cannot be written (a value no rendering
    can carry): the reads then render that row from its columns, as before, and fail or not as they did."""
    return rendered_fields([getattr(row, name) for name in REQUEST_FIELDS])


def rendered_fields(values: Sequence[Any]) -> RenderedRequest | None:
    """`rendered` of a row's `REQUEST_FIELDS` values, in that order (datetimes as datetimes)."""
    try:
        return rendered_request([format_w3c(v) if isinstance(v, datetime) else v for v in values])
    except (ValueError, TypeError):  # orjson's error is a TypeError; a non-finite number a ValueError
        return None


ServiceKey = tuple[str, str]  # (jurisdiction_id, service_code)


@dataclass
class BatchChange:
    """What a batch of events does to the view: each changed request's final row, and the updates to record (in log
    order, once per update id)."""

    requests: dict[str, RequestRow] = field(default_factory=dict)
    updates: list[UpdateRow] = field(default_factory=list)
    # The imports of requests without a row yet (the first of each), kept for their submissions.
    imports: list[ImportRow] = field(default_factory=list)


def opened_by(before: Mapping[str, RequestRow], events: Iterable[Event[Any]]) -> list[str]:
    """The requests a batch's submissions may open (no stored row), whose earlier imports the fold needs."""
    return sorted(
        {
            e.request_id
            for e in events
            if e.request_id is not None
            and e.request_id not in before
            and isinstance(e.payload, ServiceRequestSubmitted)
        }
    )


def _names_service(event: Event[Any]) -> bool:
    """The event gives its request a service (whose catalogue name the row shows)."""
    return event.request_id is not None and isinstance(
        event.payload, ServiceRequestSubmitted | CategoryChanged
    )


def named_services(events: Iterable[Event[Any]]) -> list[ServiceKey]:
    """The services whose name a batch's submissions and category changes read, each once, in a stable order."""
    return sorted({(e.jurisdiction_id, e.payload.service_code) for e in events if _names_service(e)})


def requests_of(events: Iterable[Event[Any]]) -> list[str]:
    """The requests a batch's events are about, each once, in a stable order."""
    return sorted({e.request_id for e in events if e.request_id is not None})


def fold_many(
    before: Mapping[str, RequestRow],
    events: Sequence[Event[Any]],
    *,
    service_names: Mapping[ServiceKey, str | None],
    resolution: int = DEFAULT_RESOLUTION,
    imports: Mapping[str, ImportRow] | None = None,
) -> BatchChange:
    """`fold` of each event in log order, each seeing the row the previous ones left: the same view as folding them
    one at a time. `before` holds the stored rows of the batch's requests (absent: not in the view), `imports` the
    kept imports of the requests it opens (`opened_by`)."""
    rows = dict(before)
    pending = dict(imports or {})
    change = BatchChange()
    seen_updates: set[UUID] = set()
    for event in events:
        if event.request_id is None:
            continue
        name = None
        if _names_service(event):
            name = service_names.get((event.jurisdiction_id, event.payload.service_code))
        one = fold(
            rows.get(event.request_id),
            event,
            service_name=name,
            resolution=resolution,
            imported=pending.get(event.request_id),
        )
        if one.imported is not None and event.request_id not in pending:
            pending[event.request_id] = one.imported  # the first import stays
            change.imports.append(one.imported)
        if one.request is not None:
            rows[event.request_id] = change.requests[event.request_id] = one.request
        if one.update is not None and one.update.update_id not in seen_updates:
            seen_updates.add(one.update.update_id)  # a stored update is never replaced (first one wins)
            change.updates.append(one.update)
    return change


def _location_resolved(before: RequestRow | None, event: Event[Any], p: LocationResolved) -> Change:
    """geo's public place becomes what GETs show and what the radius search finds (the latest wins)."""
    if before is None:
        return NO_CHANGE  # geo answers a submission, which comes first on the request's partition
    row = replace(
        before,
        point_lat=p.public.lat,
        point_long=p.public.long,
        **_shown(p.public),
        last_event_id=event.event_id,
    )
    moved = (row.lat, row.long, row.address) != (before.lat, before.long, before.address)
    if moved and before.civicloop_status is not RequestStatus.closed:
        # SR-10: what a partner sees changed, so an `updated_after` sync picks it up; a closed request's
        # updated_datetime stays its close time.
        row = replace(row, updated_datetime=max(before.updated_datetime, event.occurred_at))
    return Change(request=row)


def _update(
    event: Event[Any],
    *,
    status: str,
    description: str,
    external_status_code: str,
    media_url: str | None = None,
) -> UpdateRow:
    """FX-01: the update `event` records, keyed by the event's id (so a redelivery records it once)."""
    return UpdateRow(
        update_id=event.event_id,
        service_request_id=event.request_id or "",
        jurisdiction_id=event.jurisdiction_id,
        status=status,
        updated_datetime=event.occurred_at,
        description=scrub_contacts(description),
        media_url=media_url,
        external_status_code=external_status_code,
    )


def _status_changed(before: RequestRow | None, event: Event[Any], p: StatusChanged) -> Change:
    previous = before.civicloop_status if before is not None else p.previous_status
    status = extended_status(p.status, previous=previous)
    if status == "closed":
        status = closed_as(p.reason)  # ST-02: an agent's close says how it ended
    # SR-03: the public note; an agent's close or reopen without one is explained by its reason.
    note = (p.public_note and scrub_contacts(p.public_note)) or reason_text(p.status, p.reason, p.referred_to)
    update = _update(
        event,
        status=status,
        description=note or "",
        external_status_code=p.external_status_code or p.status.value,
    )
    if before is None:
        return Change(update=update)
    if note is None and open311_status(p.status) == before.status:
        # SR-03: a wordless move within open (acknowledged -> in progress) leaves the latest public word standing;
        # a wordless close or reopen clears it, since it explained the other side.
        note = before.status_notes
    row = replace(
        before,
        status=open311_status(p.status),
        civicloop_status=p.status,
        status_notes=note,  # SR-03: why the status is what it is now
        # SR-10: bumped on every change; a closing change makes it the close time.
        updated_datetime=event.occurred_at
        if p.status is RequestStatus.closed
        else max(before.updated_datetime, event.occurred_at),
        last_event_id=event.event_id,
    )
    return Change(request=row, update=update)


def _comment_added(before: RequestRow | None, event: Event[Any], p: CommentAdded) -> Change:
    if p.visibility is not CommentVisibility.public:
        return NO_CHANGE  # internal comments never leave CivicLoop
    # SR-03: on an open request, the latest public word (an agent's comment, a back-end's note-only update) is its
    # status note. On a closed one the note stays the close note (why it is closed): a note changed without moving
    # updated_datetime would be a change no `updated_after` sync could see.
    media_url = p.media_urls[0] if p.media_urls else None
    return _public_change(before, event, description=p.text, note=p.text, media_url=media_url)


def _category_changed(
    before: RequestRow | None, event: Event[Any], p: CategoryChanged, *, service_name: str | None
) -> Change:
    """SR-04/SR-05: the request shows its new service (the catalogue's name of it, or none until the catalogue
    defines it); its public note, if any, is the latest public word (SR-03)."""
    change = _public_change(before, event, description=p.public_note or "", note=p.public_note)
    if change.request is None:
        return change
    row = replace(change.request, service_code=p.service_code, service_name=service_name)
    return replace(change, request=row)


def _public_change(
    before: RequestRow | None,
    event: Event[Any],
    *,
    description: str,
    note: str | None = None,
    media_url: str | None = None,
) -> Change:
    """A change the public may see that leaves the status as it is: an update (FX-01) with the request's current
    status, and on an open request updated_datetime moved (SR-10) and `note`, when given, as its status_notes
    (SR-03). A closed request keeps its close time and its close note: the change is an update only."""
    current = before.civicloop_status if before is not None else RequestStatus.open
    update = _update(
        event,
        status=extended_status(current),
        description=description,
        media_url=media_url,
        external_status_code=current.value,
    )
    if before is None:
        return Change(update=update)
    row = replace(before, last_event_id=event.event_id)
    if before.civicloop_status is not RequestStatus.closed:
        row = replace(row, updated_datetime=max(before.updated_datetime, event.occurred_at))
        if note:
            row = replace(row, status_notes=scrub_contacts(note))
    return Change(request=row, update=update)


def _imported(before: RequestRow | None, event: Event[Any], p: RequestImported) -> Change:
    """SR-07: the back-end's agency, kept until the submission that follows opens the row. An import of a request the
    view already has is a repeat (the first import precedes the submission, and the first one stays)."""
    if before is not None:
        return NO_CHANGE
    return Change(imported=ImportRow(event.request_id or "", p.agency_responsible, event.event_id))


def _backend_update(before: RequestRow | None, event: Event[Any], p: BackendUpdateReceived) -> Change:
    """SR-07: an update naming another agency makes it the request's (SR-10: a change partners see, so open
    requests' updated_datetime moves). Its status and note reach the view as the StatusChanged or CommentAdded
    the update causes."""
    if before is None or not p.agency_responsible or p.agency_responsible == before.agency_responsible:
        return NO_CHANGE
    row = replace(before, agency_responsible=p.agency_responsible, last_event_id=event.event_id)
    if before.civicloop_status is not RequestStatus.closed:
        row = replace(row, updated_datetime=max(before.updated_datetime, event.occurred_at))
    return Change(request=row)
