"""A batch of request events placed and checked together, in the consumer runner's transaction.

Same result as `handlers.when_request_event_place_and_check` applied to each event in turn (same rows, decisions
and reactions, same event ids), with a fixed number of queries per batch instead of several per event: the
batch's state is read at once, the fold itself is pure (`domain.batch_placing`), the rows are written in one
statement and every duplicate search runs in one query. Reactions are sent together and all acknowledged before
the batch commits, so the stored position never passes an event whose reaction is not on the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from civicloop_events import Event, ServiceRequestSubmitted
from civicloop_events.payloads import DuplicateSuspected, LocationCorrected

from civicloop_geo.domain.batch_placing import (
    BatchInputs,
    Decision,
    DuplicateCheck,
    corrected_outcome,
    locate_point,
    plan_batch,
    related_lookup,
)
from civicloop_geo.domain.duplicates import rank_candidates
from civicloop_geo.domain.placing import NotPlaced, Placed
from civicloop_geo.service_layer.handlers import (
    PlacingPolicy,
    log,
    nearest_address,
    place_submission,
    reaction,
)
from civicloop_geo.service_layer.ports import (
    AreaResolver,
    EventPublisher,
    Geocoder,
    PlacingBatchStore,
)


@dataclass
class BatchPlacingDeps:
    geocoder: Geocoder
    areas: AreaResolver
    store: PlacingBatchStore
    publisher: EventPublisher
    policy: PlacingPolicy
    geocoder_concurrency: int = 1


async def place_and_check_batch(deps: BatchPlacingDeps, events: Sequence[Event[Any]]) -> None:
    """Place, decide and check a batch of request events (log order, one partition), then publish its reactions."""
    mine = [e for e in events if e.request_id is not None]
    if not mine:
        return
    request_ids = {e.request_id for e in mine if e.request_id is not None}
    rows = await deps.store.rows_of(request_ids)
    decisions = await deps.store.decisions_of(request_ids)

    # Geocode what will be decided or corrected (the first submission of an undecided request decides it), a few
    # lookups at a time: each is a round trip of its own (the gazetteer's pool, or a remote provider).
    deciding: dict[str, int] = {}
    correcting: list[int] = []
    for index, event in enumerate(events):
        rid, payload = event.request_id, event.payload
        if rid is None:
            continue
        if isinstance(payload, ServiceRequestSubmitted) and rid not in decisions and rid not in deciding:
            deciding[rid] = index
        elif isinstance(payload, LocationCorrected):
            correcting.append(index)
    outcomes = await _geocoded(deps, events, list(deciding.values()), correcting)
    claims = [
        Decision(
            rid,
            type(outcomes[i]).__name__.lower(),
            events[i].event_id,
            events[i].payload.service_code,
            events[i].occurred_at,
        )
        for rid, i in deciding.items()
    ]
    decided_now = await deps.store.decide(claims) if claims else set()

    placed = [(i, o) for i, o in outcomes.items() if isinstance(o, Placed)]
    located = await deps.areas.locate_many([(events[i].jurisdiction_id, o.lat, o.long) for i, o in placed])
    resolution = deps.policy.public_h3_resolution
    points = {
        i: locate_point(o, found.areas, found.inside, resolution=resolution)
        for (i, o), found in zip(placed, located, strict=True)
    }
    groups = (
        await deps.store.service_groups({e.jurisdiction_id for e in mine})
        if deps.policy.related_by_group
        else {}
    )
    inputs = BatchInputs(
        rows=rows,
        decisions=decisions,
        decided_now=decided_now,
        outcomes=outcomes,
        points=points,
        related=related_lookup(groups, by_group=deps.policy.related_by_group),
    )
    plan = plan_batch(events, inputs, policy=deps.policy.duplicates, reaction=reaction)
    for rid in plan.unseen_corrections:
        log.warning(
            "a correction for a request geo never saw: placed on the log, not in geo's view",
            extra={"request_id": rid},
        )

    if plan.changed:
        await deps.store.save(plan.changed_rows())
    checks = plan.checks
    found = await deps.store.nearby_open_many(checks, batch_requests=request_ids) if checks else []
    suspected = {
        id(check): duplicates(check, nearby, deps.policy) for check, nearby in zip(checks, found, strict=True)
    }
    reactions = [
        step if isinstance(step, Event) else suspected[id(step)]
        for step in plan.steps
        if isinstance(step, Event) or suspected[id(step)] is not None
    ]
    await deps.publisher.publish_all(reactions)  # type: ignore[arg-type]


async def _geocoded(
    deps: BatchPlacingDeps, events: Sequence[Event[Any]], submissions: list[int], corrections: list[int]
) -> dict[int, Placed | NotPlaced]:
    """Each submission placed and each correction's address read, at most `geocoder_concurrency` at once."""
    gate = asyncio.Semaphore(deps.geocoder_concurrency)
    min_confidence = deps.policy.min_confidence

    async def submitted(i: int) -> Placed | NotPlaced:
        async with gate:
            return await place_submission(deps.geocoder, events[i], min_confidence=min_confidence)

    async def corrected(i: int) -> Placed | NotPlaced:
        async with gate:
            return corrected_outcome(events[i].payload, await nearest_address(deps.geocoder, events[i]))

    found = await asyncio.gather(*(submitted(i) for i in submissions), *(corrected(i) for i in corrections))
    return dict(zip([*submissions, *corrections], found, strict=True))


def duplicates(check: DuplicateCheck, nearby: list[Any], policy: PlacingPolicy) -> Event[Any] | None:
    """The `DuplicateSuspected` reaction of one check, or None when nothing near is a likely duplicate."""
    dup = policy.duplicates
    candidates = rank_candidates(
        nearby,
        request_id=check.request_id,
        service_code=check.service_code,
        submitted_at=check.submitted_at,
        policy=dup,
    )
    if not candidates:
        return None
    suspected = DuplicateSuspected(candidates=candidates, radius_m=dup.radius_m, window_days=dup.window_days)
    return reaction(suspected, check.cause, kind="duplicates")
