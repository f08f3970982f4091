"""What every back-end adapter offers the Open311 app, and the failures it may report.

An adapter keeps no state of its own: each call reads or writes the back-end. `updates` gives the back-end's
changes as `servicerequestupdates` rows; `requests` folds them into one current row per request (the latest change
wins), which is what `GET requests` and `GET requests/{id}` answer for a back-end that has no list of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from civicloop_backend_adapters.config import ServiceEntry


class BackendUnavailable(Exception):
    """The back-end did not answer, timed out, or failed on its side (an Open311 503)."""


class AnswerCut(BackendUnavailable):
    """The back-end's answer for a window was cut (its cap, or too many pages) and the window cannot be split any
    further: answering part of it as if it were all would lose the rest without a word, so the call fails."""


class BackendRejected(Exception):
    """The back-end refused the call as invalid (an Open311 400 carrying their message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NotSupported(Exception):
    """This back-end cannot do what was asked (an Open311 400)."""


class UpdatesNotTaken(NotSupported):
    """This back-end takes no updates to its requests (`POST servicerequestupdates` answers 501)."""


class RequestNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Window:
    start: datetime | None
    end: datetime | None

    def contains(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when <= self.end)

    def looking_back(self, late: timedelta) -> Window:
        """The window with its start moved `late` earlier, for changes that show up after their change time."""
        return self if self.start is None or not late else Window(self.start - late, self.end)


@dataclass(frozen=True)
class Update:
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: datetime
    description: str = ""
    external_status_code: str | None = None
    media_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "service_request_id": self.service_request_id,
            "status": self.status,
            "updated_datetime": self.updated_datetime,
            "description": self.description,
            "media_url": self.media_url,
            "external_status_code": self.external_status_code,
        }


@dataclass(frozen=True)
class NewRequest:
    """A validated Open311 POST: the service entry it is for and the context a field mapping reads."""

    service: ServiceEntry
    context: dict[str, Any]


@dataclass(frozen=True)
class IncomingUpdate:
    """A validated `POST servicerequestupdates` (CHECKLIST FX-10): what happened to one of the back-end's requests."""

    service_request_id: str
    update_id: str
    status: str
    updated_datetime: datetime
    description: str = ""
    media_urls: tuple[str, ...] = ()

    def context(self) -> dict[str, Any]:
        """What a field mapping reads (`mapping.py`)."""
        return {
            "service_request_id": self.service_request_id,
            "update_id": self.update_id,
            "status": self.status,
            "updated_datetime": self.updated_datetime.isoformat(),
            "description": self.description,
            "media_urls": list(self.media_urls),
            "media_url": self.media_urls[0] if self.media_urls else None,
        }


def request_rows(updates: Iterable[Update]) -> list[dict[str, Any]]:
    """One §2.7 row per request, from its latest update (ties broken by update id, so the answer is stable)."""
    latest: dict[str, Update] = {}
    for u in updates:
        current = latest.get(u.service_request_id)
        if current is None or (u.updated_datetime, u.update_id) > (
            current.updated_datetime,
            current.update_id,
        ):
            latest[u.service_request_id] = u
    rows = []
    for u in sorted(latest.values(), key=lambda x: (x.updated_datetime, x.service_request_id), reverse=True):
        row: dict[str, Any] = {
            "service_request_id": u.service_request_id,
            "status": u.status,
            "status_notes": u.description or None,
            "updated_datetime": u.updated_datetime,
        }
        row.update({k: v for k, v in u.extra.items() if v is not None})
        rows.append(row)
    return rows


class BackendAdapter(Protocol):
    @property
    def services(self) -> Sequence[ServiceEntry]: ...

    async def create(self, request: NewRequest) -> str: ...

    async def post_update(self, update: IncomingUpdate) -> str:
        """Record the update at the back-end; its id of the update (ours when it has none). `UpdatesNotTaken` when
        it takes none."""
        ...

    async def updates(self, window: Window) -> list[Update]: ...

    async def requests(self, window: Window) -> list[dict[str, Any]]: ...

    async def request(self, service_request_id: str) -> dict[str, Any]: ...

    async def close(self) -> None: ...
