"""What an agent may ask of the read model: filters, keyset cursors and log positions, parsed without IO."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta


class InvalidQueryValue(ValueError):
    """A query value that cannot be parsed; `parameter` names it in the 422 answer."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Bbox:
    min_long: float
    min_lat: float
    max_long: float
    max_lat: float

    @classmethod
    def parse(cls, text: str) -> Bbox:
        parts = text.split(",")
        try:
            min_long, min_lat, max_long, max_lat = (float(p) for p in parts)
        except ValueError:
            raise InvalidQueryValue(
                "bbox", "bbox is min_long,min_lat,max_long,max_lat (four numbers)"
            ) from None
        if not (-180 <= min_long <= max_long <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise InvalidQueryValue(
                "bbox", "bbox needs -180 <= min_long <= max_long <= 180 and -90 <= min_lat <= max_lat <= 90"
            )
        return cls(min_long, min_lat, max_long, max_lat)


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended in the (updated_at desc, request_number asc) order; opaque to clients."""

    updated_at: datetime
    request_number: str

    def encode(self) -> str:
        raw = json.dumps([self.updated_at.isoformat(), self.request_number], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            updated_at, number = json.loads(raw)
            moment = datetime.fromisoformat(updated_at)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidQueryValue("cursor", "not a cursor this API returned") from None
        if moment.tzinfo is None or not isinstance(number, str):
            raise InvalidQueryValue("cursor", "not a cursor this API returned")
        return cls(moment, number)


@dataclass(frozen=True)
class LogPosition:
    """`<partition>:<offset>` of an event on `requests.events`, as intake returns it after a command."""

    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str, *, parameter: str) -> LogPosition:
        partition, sep, offset = text.strip().partition(":")
        if not (sep and partition.isdigit() and offset.isdigit()):
            raise InvalidQueryValue(parameter, f"{parameter} is <partition>:<offset>, e.g. 2:1041")
        return cls(int(partition), int(offset))


@dataclass(frozen=True)
class AgentRequestFilter:
    statuses: tuple[str, ...] = ()
    service_code: str | None = None
    service_area_id: str | None = None
    jurisdiction_id: str | None = None
    body_id: str | None = None
    priorities: tuple[str, ...] = ()
    delivery_states: tuple[str, ...] = ()
    bbox: Bbox | None = None
    since: datetime | None = None
    # Flags, each None (either), True or False.
    merged: bool | None = None
    duplicate_suspected: bool | None = None
    outside_jurisdiction: bool | None = None
    unresolved: bool | None = None
    # Queues of staff's work.
    teams: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()  # staff ids; "mine" is the caller's own
    unassigned: bool | None = None  # True: no staff member works it (a team may hold it); False: someone does
    dormant_before: datetime | None = None  # not closed, and no one acted on it since this instant
    # By the SLA store (adapters/sla_store.py), as the request stands at `now`.
    sla_states: tuple[str, ...] = ()
    sla_dormant: bool | None = None  # dormant by the jurisdiction's SLA definition (`dormant_after_days`)
    now: datetime | None = None


def dormant_since(now: datetime, days: int) -> datetime:
    """The instant a request must have been left alone since to be dormant for `days` days."""
    return now - timedelta(days=days)
