"""A batch of request events folded as if one at a time: geo's rows, its decisions and its reactions. Pure.

The adapter reads what the batch needs before (rows and decisions of its requests, areas of its points, related
categories), this plan walks the events in log order over that state, and the adapter then writes the final rows in
one statement and asks the database for every duplicate check at once. A duplicate check must see geo's rows as they
stood at its event: rows of the batch's own requests change along the batch, so each check carries their state at
its event (`DuplicateCheck.batch_rows`) and the database search leaves those requests out of what it reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from civicloop_events import Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    LocationCorrected,
    LocationMethod,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
    PublicPlace,
)
from civicloop_places import public_place

from civicloop_geo.domain.duplicates import DuplicatePolicy, NearbySearch
from civicloop_geo.domain.places import distance_m
from civicloop_geo.domain.placing import NotPlaced, Placed, given_point

AGENT = "agent"
# Rows of the batch are pre-selected by the haversine distance; PostGIS's spheroid differs from it by under 0.5 %,
# so this margin keeps every row the database would count, and the database decides.
_PRESELECT_MARGIN = 1.01
_METRES_PER_DEGREE_LAT = (
    110_500.0  # the smallest along a meridian, so the latitude pre-check never drops a row
)


@dataclass(frozen=True)
class PlacedRow:
    """One row of geo.requests."""

    request_id: str
    jurisdiction_id: str
    service_code: str
    submitted_at: datetime
    lat: float
    long: float
    area_ids: tuple[str, ...]
    h3_cell: str
    status: str = "open"
    merged_into: str | None = None

    @property
    def open(self) -> bool:
        return self.status != "closed" and self.merged_into is None


@dataclass(frozen=True)
class Submission:
    """What geo.decisions keeps of a submission: its category and when it was submitted."""

    service_code: str
    submitted_at: datetime


@dataclass(frozen=True)
class Decision:
    """A request's placement decision, claimed once (geo.decisions)."""

    request_id: str
    outcome: str  # "placed" or "notplaced"
    cause_event_id: Any
    service_code: str
    submitted_at: datetime


@dataclass(frozen=True)
class DuplicateCheck:
    """One duplicate search, at one event of the batch: the database's rows outside the batch's requests, plus the
    batch's own rows as they stood then (`batch_rows`, already within the category, time and open filters)."""

    cause: Event[Any]
    request_id: str
    service_code: str
    submitted_at: datetime
    search: NearbySearch
    batch_rows: tuple[PlacedRow, ...]


@dataclass
class BatchPlan:
    """What the batch does: its reactions in order (a `DuplicateCheck` stands where a `DuplicateSuspected` may go),
    the rows of its requests as they end, and which of those requests' rows changed."""

    steps: list[Event[Any] | DuplicateCheck] = field(default_factory=list)
    rows: dict[str, PlacedRow] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    # request ids by (jurisdiction, category): a check looks only at rows of the categories it searches
    by_category: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # corrections of requests geo never saw: placed on the log, not in geo's view
    unseen_corrections: list[str] = field(default_factory=list)

    def put(self, row: PlacedRow, *, changed: bool = True) -> None:
        self.rows[row.request_id] = row
        self.by_category.setdefault((row.jurisdiction_id, row.service_code), set()).add(row.request_id)
        if changed:
            self.changed.add(row.request_id)

    @property
    def checks(self) -> list[DuplicateCheck]:
        return [s for s in self.steps if isinstance(s, DuplicateCheck)]

    def changed_rows(self) -> list[PlacedRow]:
        return [self.rows[r] for r in sorted(self.changed) if r in self.rows]


@dataclass(frozen=True)
class BatchInputs:
    """What geo knew before the batch, and what it looked up for it.

    `rows` and `decisions` are those of the batch's requests; `decided_now` the requests whose decision this batch
    claimed; `outcomes` and `points` (the areas and public place of each placed point) are keyed by the event's index
    in the batch; `related` gives the categories counted as duplicates of one."""

    rows: dict[str, PlacedRow]
    decisions: dict[str, Submission | None]
    decided_now: set[str]
    outcomes: dict[int, Placed | NotPlaced]
    points: dict[int, LocatedPoint]
    related: Callable[[str, str], tuple[str, ...]]


@dataclass(frozen=True)
class LocatedPoint:
    """Where a placed point falls: its areas, whether inside the jurisdiction, its public form."""

    areas: tuple[Any, ...]  # AreaRef
    inside: bool
    public: PublicPlace


def locate_point(outcome: Placed, areas: tuple[Any, ...], inside: bool, *, resolution: int) -> LocatedPoint:
    return LocatedPoint(
        areas, inside, public_place(outcome.lat, outcome.long, outcome.address, resolution=resolution)
    )


def corrected_outcome(payload: LocationCorrected, nearest_address: str | None) -> Placed:
    """An agent's point, with the agent's address or the nearest known one."""
    address = payload.address if payload.address is not None else nearest_address
    return given_point(payload.lat, payload.long, address, method=LocationMethod.corrected, provider=AGENT)


def plan_batch(
    events: Sequence[Event[Any]],
    inputs: BatchInputs,
    *,
    policy: DuplicatePolicy,
    reaction: Callable[..., Event[Any]],
) -> BatchPlan:
    """The batch's effects, equal to applying its events one by one (`handlers.when_request_event_place_and_check`)."""
    plan = BatchPlan()
    for row in inputs.rows.values():
        plan.put(row, changed=False)
    decisions = dict(inputs.decisions)
    for index, event in enumerate(events):
        rid, payload = event.request_id, event.payload
        if rid is None:
            continue
        if isinstance(payload, ServiceRequestSubmitted):
            if rid in decisions or rid not in inputs.decided_now:
                continue  # decided before (a replay), or by another consumer group just now
            decisions[rid] = Submission(payload.service_code, event.occurred_at)
            outcome = inputs.outcomes[index]
            if isinstance(outcome, NotPlaced):
                unresolved = LocationUnresolved(
                    reason=outcome.reason, best_confidence=outcome.best_confidence, detail=outcome.detail
                )
                plan.steps.append(reaction(unresolved, event, kind="location"))
                continue
            point = inputs.points[index]
            plan.steps.append(reaction(_resolved(outcome, point), event, kind="location"))
            if rid not in plan.rows:
                plan.put(_new_row(event, outcome, point, payload.service_code, event.occurred_at))
            plan.steps.append(
                _check(plan, event, outcome, payload.service_code, event.occurred_at, inputs, policy)
            )
        elif isinstance(payload, StatusChanged):
            if rid in plan.rows:
                plan.put(replace(plan.rows[rid], status=payload.status.value))
        elif isinstance(payload, MergedAsDuplicate):
            if rid in plan.rows:
                plan.put(replace(plan.rows[rid], merged_into=payload.original_request_id))
        elif isinstance(payload, LocationCorrected):
            outcome = inputs.outcomes[index]
            if not isinstance(outcome, Placed):
                raise TypeError("a correction is always placed")
            point = inputs.points[index]
            plan.steps.append(reaction(_resolved(outcome, point), event, kind="location"))
            area_ids = tuple(a.area_id for a in point.areas)
            if rid in plan.rows:
                moved = replace(
                    plan.rows[rid],
                    lat=outcome.lat,
                    long=outcome.long,
                    area_ids=area_ids,
                    h3_cell=point.public.h3_cell,
                )
                plan.put(moved)
                continue
            submission = decisions.get(rid)
            if submission is None:
                plan.unseen_corrections.append(rid)
                continue
            plan.put(_new_row(event, outcome, point, submission.service_code, submission.submitted_at))
            plan.steps.append(
                _check(plan, event, outcome, submission.service_code, submission.submitted_at, inputs, policy)
            )
    return plan


def _resolved(outcome: Placed, point: LocatedPoint) -> LocationResolved:
    return LocationResolved(
        lat=outcome.lat,
        long=outcome.long,
        address=outcome.address,
        method=outcome.method,
        provider=outcome.provider,
        confidence=outcome.confidence,
        service_areas=list(point.areas),
        inside_jurisdiction=point.inside,
        public=point.public,
    )


def _new_row(
    event: Event[Any], outcome: Placed, point: LocatedPoint, service_code: str, submitted_at: datetime
) -> PlacedRow:
    return PlacedRow(
        request_id=event.request_id or "",
        jurisdiction_id=event.jurisdiction_id,
        service_code=service_code,
        submitted_at=submitted_at,
        lat=outcome.lat,
        long=outcome.long,
        area_ids=tuple(a.area_id for a in point.areas),
        h3_cell=point.public.h3_cell,
    )


def _check(
    plan: BatchPlan,
    cause: Event[Any],
    outcome: Placed,
    service_code: str,
    submitted_at: datetime,
    inputs: BatchInputs,
    policy: DuplicatePolicy,
) -> DuplicateCheck:
    search = NearbySearch(
        cause.jurisdiction_id,
        outcome.lat,
        outcome.long,
        service_codes=inputs.related(cause.jurisdiction_id, service_code),
        radius_m=policy.radius_m,
        since=submitted_at - policy.window,
        until=submitted_at + policy.window,
        limit=policy.max_candidates * 4,
    )
    return DuplicateCheck(
        cause=cause,
        request_id=cause.request_id or "",
        service_code=service_code,
        submitted_at=submitted_at,
        search=search,
        batch_rows=tuple(
            row
            for code in search.service_codes
            for rid in sorted(plan.by_category.get((search.jurisdiction_id, code), ()))
            if could_be_found(row := plan.rows[rid], search)
        ),
    )


def could_be_found(row: PlacedRow, search: NearbySearch) -> bool:
    """Whether the duplicate search could return the row: every filter exact but the distance, which is generous."""
    if not (
        row.open
        and row.jurisdiction_id == search.jurisdiction_id
        and row.service_code in search.service_codes
        and search.since <= row.submitted_at <= search.until
    ):
        return False
    reach = search.radius_m * _PRESELECT_MARGIN + 1.0
    if abs(row.lat - search.lat) * _METRES_PER_DEGREE_LAT > reach:
        return False
    return distance_m(search.lat, search.long, row.lat, row.long) <= reach


def related_lookup(
    groups: dict[tuple[str, str], str], *, by_group: bool
) -> Callable[[str, str], tuple[str, ...]]:
    """`related(j, code)`: the code and, with `by_group`, every code sharing its non-empty catalogue group, sorted."""

    @functools.cache
    def related(jurisdiction_id: str, service_code: str) -> tuple[str, ...]:
        if not by_group:
            return (service_code,)
        group = groups.get((jurisdiction_id, service_code), "")
        same = {c for (j, c), g in groups.items() if group and j == jurisdiction_id and g == group}
        return tuple(sorted(same | {service_code}))

    return related
