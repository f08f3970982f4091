"""geo's view of requests folded from the log alone, as a rebuild replays it: no geocoding, no reactions. Pure.

Live, geo decides on a submission when it reads it and publishes the decision (`LocationResolved` or
`LocationUnresolved`, caused by the submission) a little later on the same partition. The replay takes the decision
from that reaction instead of deciding again, so it ends where live geo ended without asking the geocoder or the
areas of today. Between a submission and its reaction, live geo already had the row: the status changes and merges
that came in between are held with the submission (`Pending`) and applied when the reaction creates the row. An
agent's correction moves the row when geo's reaction to it comes by (its areas and public cell are on it).

A request geo did not place gets its row from the first agent's correction after its submission, and from then on
live geo applies its status changes and merges to that row. The replay sees the correction long before geo's
reaction to it (and may not yet know whether the submission was placed): the correction and the changes after it are
held too (`Pending.correction_id`, `corrected_status`, `corrected_merged_into`), and become the row when the
reaction to that correction comes by, should the submission turn out not placed.

`Pending` entries are kept between batches in the rebuild's own table (`geo.replay_pending`), written in each batch's
transaction; it holds only what still waits for a reaction of geo's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from civicloop_events import Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    LocationCorrected,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
)

from civicloop_geo.domain.batch_placing import Decision, PlacedRow, Submission

GEO_SOURCE = "geo"


@dataclass
class Pending:
    """What waits for geo's reaction: a submission whose decision is not on the log yet (`event_id`; None once
    decided), and the first correction of a request geo had not placed (`correction_id`), each with what happened to
    the request since."""

    event_id: UUID | None
    jurisdiction_id: str
    service_code: str
    submitted_at: Any
    status: str = "open"
    merged_into: str | None = None
    correction_id: UUID | None = None
    corrected_status: str = "open"
    corrected_merged_into: str | None = None


@dataclass
class ReplayWrites:
    """One batch's writes: new decisions, new rows, and changes to rows stored before the batch (last one wins)."""

    decisions: list[Decision] = field(default_factory=list)
    new_rows: dict[str, PlacedRow] = field(default_factory=dict)
    moved: dict[str, tuple[float, float, tuple[str, ...], str]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredState:
    """What the store held before the batch, for the batch's requests: rows, and decisions (with the submission)."""

    rows: frozenset[str]
    decisions: dict[str, Submission | None]


def requests_needing_state(events: Sequence[Event[Any]]) -> set[str]:
    return {e.request_id for e in events if e.request_id is not None}


def replay_batch(
    events: Sequence[Event[Any]], stored: StoredState, pending: dict[str, Pending]
) -> ReplayWrites:
    """The writes of one batch of the request topic, in log order; `pending` is updated in place."""
    writes = ReplayWrites()
    decisions: dict[str, Submission | None] = dict(stored.decisions)
    for event in events:
        rid, payload = event.request_id, event.payload
        if rid is None:
            continue
        if isinstance(payload, ServiceRequestSubmitted):
            if rid not in decisions and rid not in pending:  # the first submission of an undecided request
                pending[rid] = Pending(
                    event.event_id, event.jurisdiction_id, payload.service_code, event.occurred_at
                )
        elif isinstance(payload, StatusChanged):
            _change(writes, stored, pending, rid, status=payload.status.value)
        elif isinstance(payload, MergedAsDuplicate):
            _change(writes, stored, pending, rid, merged_into=payload.original_request_id)
        elif isinstance(payload, LocationCorrected):
            _correction_seen(writes, stored, decisions, pending, event)
        elif event.source == GEO_SOURCE and isinstance(payload, LocationResolved | LocationUnresolved):
            waiting = pending.get(rid)
            if (
                waiting is not None
                and waiting.event_id is not None
                and event.causation_id == waiting.event_id
            ):
                _decided(writes, decisions, rid, waiting, payload)
                if isinstance(payload, LocationResolved) or waiting.correction_id is None:
                    del pending[rid]
                else:  # not placed, but corrected since: the row comes with the correction's reaction
                    waiting.event_id = None
            elif (
                waiting is not None
                and waiting.event_id is None
                and event.causation_id == waiting.correction_id
                and isinstance(payload, LocationResolved)
            ):
                del pending[rid]
                _placed_by_correction(writes, rid, waiting, payload)
            elif isinstance(payload, LocationResolved):
                _corrected(writes, stored, decisions, rid, event.jurisdiction_id, payload)
    return writes


def _correction_seen(
    writes: ReplayWrites,
    stored: StoredState,
    decisions: dict[str, Submission | None],
    pending: dict[str, Pending],
    event: Event[Any],
) -> None:
    """An agent's correction of a request without a row: live geo placed it there (if its submission was not
    placed), so the changes from here on are held for the row its reaction will make."""
    rid = event.request_id or ""
    if rid in writes.new_rows or rid in stored.rows:
        return  # the row exists: the reaction moves it
    waiting = pending.get(rid)
    if waiting is not None:
        if waiting.correction_id is None:
            waiting.correction_id = event.event_id
        return
    submission = decisions.get(rid)
    if submission is not None:  # decided, not placed
        pending[rid] = Pending(
            None,
            event.jurisdiction_id,
            submission.service_code,
            submission.submitted_at,
            correction_id=event.event_id,
        )


def _placed_by_correction(
    writes: ReplayWrites, rid: str, waiting: Pending, payload: LocationResolved
) -> None:
    writes.new_rows[rid] = PlacedRow(
        request_id=rid,
        jurisdiction_id=waiting.jurisdiction_id,
        service_code=waiting.service_code,
        submitted_at=waiting.submitted_at,
        lat=payload.lat,
        long=payload.long,
        area_ids=tuple(a.area_id for a in payload.service_areas),
        h3_cell=payload.public.h3_cell,
        status=waiting.corrected_status,
        merged_into=waiting.corrected_merged_into,
    )


def _decided(
    writes: ReplayWrites,
    decisions: dict[str, Submission | None],
    rid: str,
    submission: Pending,
    payload: LocationResolved | LocationUnresolved,
) -> None:
    outcome = "placed" if isinstance(payload, LocationResolved) else "notplaced"
    writes.decisions.append(
        Decision(rid, outcome, submission.event_id, submission.service_code, submission.submitted_at)
    )
    decisions[rid] = Submission(submission.service_code, submission.submitted_at)
    if isinstance(payload, LocationResolved):
        writes.new_rows[rid] = PlacedRow(
            request_id=rid,
            jurisdiction_id=submission.jurisdiction_id,
            service_code=submission.service_code,
            submitted_at=submission.submitted_at,
            lat=payload.lat,
            long=payload.long,
            area_ids=tuple(a.area_id for a in payload.service_areas),
            h3_cell=payload.public.h3_cell,
            status=submission.status,
            merged_into=submission.merged_into,
        )


def _corrected(
    writes: ReplayWrites,
    stored: StoredState,
    decisions: dict[str, Submission | None],
    rid: str,
    jurisdiction_id: str,
    payload: LocationResolved,
) -> None:
    """geo's reaction to an agent's correction: the row moves; a request decided but never placed is placed now."""
    area_ids = tuple(a.area_id for a in payload.service_areas)
    h3_cell = payload.public.h3_cell
    if rid in writes.new_rows:
        writes.new_rows[rid] = replace(
            writes.new_rows[rid], lat=payload.lat, long=payload.long, area_ids=area_ids, h3_cell=h3_cell
        )
    elif rid in stored.rows:
        writes.moved[rid] = (payload.lat, payload.long, area_ids, h3_cell)
    elif (submission := decisions.get(rid)) is not None:
        writes.new_rows[rid] = PlacedRow(
            rid,
            jurisdiction_id,
            submission.service_code,
            submission.submitted_at,
            payload.lat,
            payload.long,
            area_ids,
            h3_cell,
        )


def _change(
    writes: ReplayWrites,
    stored: StoredState,
    pending: dict[str, Pending],
    rid: str,
    *,
    status: str | None = None,
    merged_into: str | None = None,
) -> None:
    """A status change or a merge: on the row where geo has one, held with the submission while it is pending."""
    if rid in writes.new_rows:
        row = writes.new_rows[rid]
        writes.new_rows[rid] = replace(
            row, status=status or row.status, merged_into=merged_into or row.merged_into
        )
    elif rid in stored.rows:
        if status is not None:
            writes.statuses[rid] = status
        if merged_into is not None:
            writes.merged[rid] = merged_into
    elif rid in pending:
        waiting = pending[rid]
        if status is not None:
            waiting.status = status
            if waiting.correction_id is not None:
                waiting.corrected_status = status
        if merged_into is not None:
            waiting.merged_into = merged_into
            if waiting.correction_id is not None:
                waiting.corrected_merged_into = merged_into
