"""Seeded streams of request events for the batch-equals-one-by-one tests: submissions near each other (some the
same point, some out of the window), repeated submissions, status changes, merges and corrections, interleaved."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_events import Actor, ActorKind, Event, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import LocationCorrected, MergedAsDuplicate, RequestStatus
from civicloop_geo.domain.places import GeocodeResult, MatchKind

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LAT, LONG = 39.78, -89.65
CODES = ("pothole", "graffiti", "streetlight")
GROUPS = {
    "pothole": "streets",
    "streetlight": "streets",
    "graffiti": "",
}  # pothole and streetlight are related
KNOWN_ADDRESS = "210 e monroe"
GEOCODED = GeocodeResult(
    LAT + 0.001, LONG + 0.001, "210 E MONROE ST", 0.95, "gazetteer", MatchKind.address_point
)
NEAREST = GeocodeResult(LAT, LONG, "100 S 5TH ST", 0.9, "gazetteer", MatchKind.address_point)
RESIDENT = Actor(kind=ActorKind.resident)
AGENT = Actor(kind=ActorKind.agent, id="agent-1")


def _near(rng: random.Random, spots: list[tuple[float, float]]) -> tuple[float, float]:
    if spots and rng.random() < 0.2:
        return rng.choice(spots)  # the very same point as an earlier report: equal distances, ordered by id
    north, east = rng.uniform(-700, 700), rng.uniform(-700, 700)
    point = (
        round(LAT + north / 111_195.0, 7),
        round(LONG + east / (111_195.0 * math.cos(math.radians(LAT))), 7),
    )
    spots.append(point)
    return point


def event_stream(
    seed: int, jurisdiction_id: str, *, requests: int = 30, length: int = 120
) -> list[Event[Any]]:
    rng = random.Random(seed)
    ids = [f"{jurisdiction_id}-{n:03d}" for n in range(requests)]
    spots: list[tuple[float, float]] = []
    events: list[Event[Any]] = []
    for _ in range(length):
        rid = rng.choice(ids)
        kind = rng.choices(("submit", "status", "merge", "correct"), weights=(6, 2, 1, 1))[0]
        if kind == "submit":
            at = (
                T0
                + timedelta(minutes=rng.randint(0, 600))
                + (timedelta(days=40) if rng.random() < 0.1 else timedelta())
            )
            roll = rng.random()
            if roll < 0.75:
                lat, long = _near(rng, spots)
                location = Location(
                    lat=lat, long=long, address_string="5th and main" if rng.random() < 0.5 else None
                )
            elif roll < 0.9:
                location = Location(address_string=KNOWN_ADDRESS)
            else:
                location = Location(address_string="nowhere at all")
            payload: Any = ServiceRequestSubmitted(service_code=rng.choice(CODES), location=location)
            actor = RESIDENT
        elif kind == "status":
            payload = StatusChanged(
                status=rng.choice((RequestStatus.closed, RequestStatus.in_progress, RequestStatus.open))
            )
            actor, at = AGENT, T0
        elif kind == "merge":
            payload = MergedAsDuplicate(original_request_id=rng.choice(ids))
            actor, at = AGENT, T0
        else:
            lat, long = _near(rng, spots)
            payload = LocationCorrected(
                lat=lat, long=long, address="9 Agent Way" if rng.random() < 0.5 else None
            )
            actor, at = AGENT, T0
        events.append(
            Event.create(
                payload,
                request_id=rid,
                jurisdiction_id=jurisdiction_id,
                actor=actor,
                source="test",
                occurred_at=at,
            )
        )
    return events


def batches(seed: int, events: list[Event[Any]], *, largest: int = 40) -> list[list[Event[Any]]]:
    """The stream cut into batches of random sizes (1 to `largest`), in order."""
    rng = random.Random(seed)
    out: list[list[Event[Any]]] = []
    i = 0
    while i < len(events):
        size = rng.randint(1, largest)
        out.append(events[i : i + size])
        i += size
    return out
