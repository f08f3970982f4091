"""selfheal's views as JSON for its tables, and back (pure): instants as ISO 8601 text, the clock's stretches as
pairs."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from civicloop_events.payloads import RequestStatus
from civicloop_sla.clock import RequestClock

from civicloop_selfheal.domain.view import RequestView

_INSTANTS = {
    f.name for f in fields(RequestView) if f.name.endswith("_at") and f.name not in ("submitted_at",)
}


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def clock_to_json(clock: RequestClock) -> dict[str, Any]:
    return {
        "service_code": clock.service_code,
        "submitted_at": clock.submitted_at.isoformat(),
        "status": clock.status.value,
        "acknowledged_at": _text(clock.acknowledged_at),
        "ran": [[a.isoformat(), b.isoformat()] for a, b in clock.ran],
        "running_since": _text(clock.running_since),
        "closed_at": _text(clock.closed_at),
        "last_activity_at": _text(clock.last_activity_at),
    }


def clock_from_json(data: dict[str, Any]) -> RequestClock:
    return RequestClock(
        service_code=data["service_code"],
        submitted_at=datetime.fromisoformat(data["submitted_at"]),
        status=RequestStatus(data["status"]),
        acknowledged_at=_at(data["acknowledged_at"]),
        ran=tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in data["ran"]),
        running_since=_at(data["running_since"]),
        closed_at=_at(data["closed_at"]),
        last_activity_at=_at(data["last_activity_at"]),
    )


def view_to_json(view: RequestView) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields(RequestView):
        value = getattr(view, f.name)
        if f.name == "clock":
            data[f.name] = clock_to_json(value)
        elif isinstance(value, datetime):
            data[f.name] = value.isoformat()
        elif isinstance(value, RequestStatus):
            data[f.name] = value.value
        else:
            data[f.name] = value
    return data


def view_from_json(data: dict[str, Any]) -> RequestView:
    values: dict[str, Any] = dict(data)
    values["clock"] = clock_from_json(data["clock"])
    values["status"] = RequestStatus(data["status"])
    values["submitted_at"] = datetime.fromisoformat(data["submitted_at"])
    for name in _INSTANTS:
        values[name] = _at(data.get(name))
    return RequestView(**values)
