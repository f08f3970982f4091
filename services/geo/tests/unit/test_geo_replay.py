"""geo's view of requests folded from the log alone (a rebuild) ends where live geo ended, with nothing decided again."""

from __future__ import annotations

import random
from typing import Any

import pytest
from civicloop_events import Event
from civicloop_geo.domain.batch_placing import PlacedRow, Submission
from civicloop_geo.domain.replay import Pending, ReplayWrites, StoredState, replay_batch
from civicloop_geo.service_layer.handlers import (
    PlacingDeps,
    PlacingPolicy,
    when_request_event_place_and_check,
)
from civicloop_geo.service_layer.ports import RequestPlace
from geo_event_streams import batches, event_stream
from geo_fakes import FakePlaces, FakePublisher
from test_geo_batch_placing import J, world


async def live_log(
    events: list[Event[Any]], seed: int, *, most_late: int
) -> tuple[FakePlaces, list[Event[Any]]]:
    """Live geo over `events`, and the log as it then reads: each reaction up to `most_late` records after its
    cause (in order: one producer)."""
    rng = random.Random(seed)
    geocoder, areas, places = world()
    out = FakePublisher()
    deps = PlacingDeps(geocoder=geocoder, areas=areas, places=places, publisher=out, policy=PlacingPolicy())
    log: list[Event[Any]] = []
    due: list[tuple[int, Event[Any]]] = []
    last_due = 0
    for i, event in enumerate(events):
        log.extend(e for at, e in due if at <= i)
        due = [(at, e) for at, e in due if at > i]
        log.append(event)
        before = len(out.events)
        await when_request_event_place_and_check(deps, event)
        for reaction in out.events[before:]:
            last_due = max(last_due, i + rng.randint(1, most_late))
            due.append((last_due, reaction))
    log.extend(e for _, e in due)
    return places, log


def apply(places: FakePlaces, writes: ReplayWrites) -> None:
    """The writes, as the store makes them."""
    for d in writes.decisions:
        places.decided.setdefault(d.request_id, (d.service_code, d.submitted_at))
    for row in writes.new_rows.values():
        places.rows[row.request_id] = {
            "place": _place(row),
            "status": row.status,
            "merged_into": row.merged_into,
        }
    for rid, (lat, long, area_ids, h3_cell) in writes.moved.items():
        old: RequestPlace = places.rows[rid]["place"]
        places.rows[rid]["place"] = RequestPlace(
            rid, old.jurisdiction_id, old.service_code, old.submitted_at, lat, long, area_ids, h3_cell
        )
    for rid, status in writes.statuses.items():
        places.rows[rid]["status"] = status
    for rid, original in writes.merged.items():
        places.rows[rid]["merged_into"] = original


def _place(row: PlacedRow) -> RequestPlace:
    return RequestPlace(
        row.request_id,
        row.jurisdiction_id,
        row.service_code,
        row.submitted_at,
        row.lat,
        row.long,
        row.area_ids,
        row.h3_cell,
    )


def replayed(log: list[Event[Any]], seed: int) -> FakePlaces:
    _, _, places = world()
    pending: dict[str, Pending] = {}
    for batch in batches(seed, log, largest=50):
        rids = {e.request_id for e in batch if e.request_id}
        stored = StoredState(
            rows=frozenset(r for r in rids if r in places.rows),
            decisions={r: Submission(*places.decided[r]) for r in rids if r in places.decided},
        )
        apply(places, replay_batch(batch, stored, pending))
    return places


# A few records late, as live; or after the whole stream, as when geo reads a backlog (its reactions then land after
# every agent's change: the corrections and the status changes of requests it has not placed yet).
@pytest.mark.parametrize("most_late", [20, 100_000], ids=["soon", "after-the-backlog"])
@pytest.mark.parametrize("seed", range(12))
async def test_a_rebuild_from_the_log_ends_where_live_geo_ended(seed: int, most_late: int) -> None:
    live, log = await live_log(event_stream(seed, J), seed, most_late=most_late)
    rebuilt = replayed(log, seed)
    assert rebuilt.rows == live.rows
    assert rebuilt.decided == live.decided
    assert live.rows, "the stream placed requests"
