"""What geo does on each event. Each handler runs in the consumer runner's transaction (effect + inbox + position).

Reactions are published from inside that transaction with ids derived from the cause, so a retried or replayed
handler publishes the same events again and every consumer's inbox drops the copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicloop_events import (
    Actor,
    ActorKind,
    Event,
    ServiceAreaDefined,
    ServiceDefined,
    ServiceRequestSubmitted,
    StatusChanged,
    derived_event_id,
)
from civicloop_events.payloads import (
    AreaRef,
    DuplicateSuspected,
    EventPayload,
    LocationCorrected,
    LocationMethod,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
    PublicPlace,
    UnresolvedReason,
)
from civicloop_places import public_place

from civicloop_geo.domain.duplicates import DuplicatePolicy, NearbySearch, rank_candidates
from civicloop_geo.domain.placing import (
    NotPlaced,
    Placed,
    from_geocoder,
    from_reporter,
    geocoding_query,
    given_point,
)
from civicloop_geo.service_layer.ports import (
    AreaDefinitions,
    AreaResolver,
    EventPublisher,
    Geocoder,
    GeocoderUnavailable,
    RequestPlace,
    RequestPlaces,
)

log = logging.getLogger("civicloop.geo")

GEO_ACTOR = Actor(kind=ActorKind.system, id="geo")
GEO_SOURCE = "geo"
AGENT = "agent"


def reaction(payload: EventPayload, cause: Event[Any], *, kind: str) -> Event[Any]:
    """geo's reaction to `cause`, about the same request. Its id derives from the cause and `kind`, so a replayed
    handler publishes the very same event, and reactions of one kind (resolved or unresolved: "location") share it."""
    return Event.create(
        payload,
        request_id=cause.request_id,
        jurisdiction_id=cause.jurisdiction_id,
        actor=GEO_ACTOR,
        source=GEO_SOURCE,
        causation=cause,
        event_id=derived_event_id(kind, cause.event_id),
    )


@dataclass(frozen=True)
class PlacingPolicy:
    min_confidence: float = 0.5
    public_h3_resolution: int = 9
    related_by_group: bool = True
    duplicates: DuplicatePolicy = field(default_factory=DuplicatePolicy)


@dataclass
class PlacingDeps:
    geocoder: Geocoder
    areas: AreaResolver
    places: RequestPlaces
    publisher: EventPublisher
    policy: PlacingPolicy


async def when_request_event_place_and_check(deps: PlacingDeps, event: Event[Any]) -> None:
    payload = event.payload
    if event.request_id is None:
        return
    if isinstance(payload, ServiceRequestSubmitted):
        await when_submitted_place_request(deps, event)
    elif isinstance(payload, StatusChanged):
        await deps.places.set_status(event.request_id, payload.status.value)
    elif isinstance(payload, MergedAsDuplicate):
        await deps.places.mark_merged(event.request_id, payload.original_request_id)
    elif isinstance(payload, LocationCorrected):
        await when_corrected_place_again(deps, event)


async def place(deps: PlacingDeps, event: Event[Any]) -> Placed | NotPlaced:
    return await place_submission(deps.geocoder, event, min_confidence=deps.policy.min_confidence)


async def place_submission(
    geocoder: Geocoder, event: Event[Any], *, min_confidence: float
) -> Placed | NotPlaced:
    """Where a submission is: the reporter's point (with the nearest address when they gave none), or the
    geocoder's best match for their address."""
    p: ServiceRequestSubmitted = event.payload
    j = event.jurisdiction_id
    lat, long = p.location.lat, p.location.long
    try:
        if (
            lat is not None and long is not None
        ):  # a point is lat and long together (validated in the payload)
            reverse = None if p.location.address_string else await geocoder.reverse(j, lat, long)
            return from_reporter(p.location, reverse)
        query = geocoding_query(p.location)
        if query is None:
            return NotPlaced(
                UnresolvedReason.address_not_found, detail="only an address_id, which geo cannot read"
            )
        results = await geocoder.geocode(j, query)
        return from_geocoder(query, results, min_confidence=min_confidence)
    except GeocoderUnavailable as exc:
        if p.location.has_point:  # the point stands; only the readable address is missing
            return from_reporter(p.location, None)
        # Not retried here: a long provider outage would stall the partition. Agents (or selfheal) re-place it.
        return NotPlaced(UnresolvedReason.geocoder_unavailable, detail=str(exc)[:500])


async def nearest_address(geocoder: Geocoder, event: Event[Any]) -> str | None:
    """The address an agent's correction stands at: theirs, or the nearest known one (none if the geocoder is down)."""
    p: LocationCorrected = event.payload
    if p.address is not None:
        return p.address
    try:
        nearest = await geocoder.reverse(event.jurisdiction_id, p.lat, p.long)
    except GeocoderUnavailable:
        return None
    return nearest.address if nearest else None


async def when_submitted_place_request(deps: PlacingDeps, event: Event[Any]) -> None:
    p: ServiceRequestSubmitted = event.payload
    if event.request_id is None:
        raise ValueError(f"event {event.event_id} names no request")
    outcome = await place(deps, event)
    # Decided once per request: a replay (a new consumer version, a reset group) must not re-decide with what geo
    # knows now, which could differ from what it knew then. The decision rolls back with the transaction.
    if not await deps.places.decide_once(
        event.request_id,
        type(outcome).__name__.lower(),
        event.event_id,
        service_code=p.service_code,
        submitted_at=event.occurred_at,
    ):
        return
    if isinstance(outcome, NotPlaced):
        unresolved = LocationUnresolved(
            reason=outcome.reason, best_confidence=outcome.best_confidence, detail=outcome.detail
        )
        await deps.publisher.publish(reaction(unresolved, event, kind="location"))
        return
    public, areas = await publish_resolved(deps, event, outcome)
    await deps.places.record(
        RequestPlace(
            request_id=event.request_id,
            jurisdiction_id=event.jurisdiction_id,
            service_code=p.service_code,
            submitted_at=event.occurred_at,
            lat=outcome.lat,
            long=outcome.long,
            area_ids=tuple(a.area_id for a in areas),
            h3_cell=public.h3_cell,
        )
    )
    await check_duplicates(deps, event, outcome, service_code=p.service_code, submitted_at=event.occurred_at)


async def publish_resolved(
    deps: PlacingDeps, cause: Event[Any], outcome: Placed
) -> tuple[PublicPlace, list[AreaRef]]:
    """The areas covering the point and its public form, published as `LocationResolved` (id derived from the cause)."""
    located = await deps.areas.locate(cause.jurisdiction_id, outcome.lat, outcome.long)
    areas = list(located.areas)
    public = public_place(
        outcome.lat, outcome.long, outcome.address, resolution=deps.policy.public_h3_resolution
    )
    resolved = LocationResolved(
        lat=outcome.lat,
        long=outcome.long,
        address=outcome.address,
        method=outcome.method,
        provider=outcome.provider,
        confidence=outcome.confidence,
        service_areas=areas,
        inside_jurisdiction=located.inside,
        public=public,
    )
    await deps.publisher.publish(reaction(resolved, cause, kind="location"))
    return public, areas


async def check_duplicates(
    deps: PlacingDeps, cause: Event[Any], outcome: Placed, *, service_code: str, submitted_at: datetime
) -> None:
    """Open requests of the same or a related category near the place, as `DuplicateSuspected` (id from the cause)."""
    if cause.request_id is None:
        raise ValueError(f"event {cause.event_id} names no request")
    codes = (
        await deps.places.related_codes(cause.jurisdiction_id, service_code)
        if deps.policy.related_by_group
        else [service_code]
    )
    dup = deps.policy.duplicates
    # The window reaches both ways: two reports on different partitions are placed in no defined order, and the
    # one placed second must still name the other, even when that one was reported a little later.
    nearby = await deps.places.nearby_open(
        NearbySearch(
            cause.jurisdiction_id,
            outcome.lat,
            outcome.long,
            service_codes=tuple(codes),
            radius_m=dup.radius_m,
            since=submitted_at - dup.window,
            until=submitted_at + dup.window,
            limit=dup.max_candidates * 4,
        )
    )
    candidates = rank_candidates(
        nearby, request_id=cause.request_id, service_code=service_code, submitted_at=submitted_at, policy=dup
    )
    if candidates:
        suspected = DuplicateSuspected(
            candidates=candidates, radius_m=dup.radius_m, window_days=dup.window_days
        )
        await deps.publisher.publish(reaction(suspected, cause, kind="duplicates"))


async def when_corrected_place_again(deps: PlacingDeps, event: Event[Any]) -> None:
    """An agent's point replaces geo's: areas and public place again; a request geo never placed is now placed
    and checked for duplicates. The address is the agent's, or the nearest known one."""
    p: LocationCorrected = event.payload
    if event.request_id is None:
        raise ValueError(f"event {event.event_id} names no request")
    address = await nearest_address(deps.geocoder, event)
    outcome = given_point(p.lat, p.long, address, method=LocationMethod.corrected, provider=AGENT)
    public, areas = await publish_resolved(deps, event, outcome)
    area_ids = tuple(a.area_id for a in areas)
    if await deps.places.move(event.request_id, p.lat, p.long, area_ids, public.h3_cell):
        return
    submission = await deps.places.submission(event.request_id)
    if submission is None:
        log.warning(
            "a correction for a request geo never saw: placed on the log, not in geo's view",
            extra={"request_id": event.request_id},
        )
        return
    service_code, submitted_at = submission
    await deps.places.record(
        RequestPlace(
            request_id=event.request_id,
            jurisdiction_id=event.jurisdiction_id,
            service_code=service_code,
            submitted_at=submitted_at,
            lat=p.lat,
            long=p.long,
            area_ids=area_ids,
            h3_cell=public.h3_cell,
        )
    )
    await check_duplicates(deps, event, outcome, service_code=service_code, submitted_at=submitted_at)


async def when_config_changes_keep_areas_and_services(
    areas: AreaDefinitions,
    places: RequestPlaces,
    event: Event[Any],
) -> None:
    """Service areas become new versions; categories' groups say which categories are related for duplicates."""
    payload = event.payload
    if isinstance(payload, ServiceAreaDefined):
        await areas.define(event)
    elif isinstance(payload, ServiceDefined):
        await places.define_service(event.jurisdiction_id, payload.service_code, payload.group)
