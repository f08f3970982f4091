"""Nothing late left behind: the pure rules of the ongoing import and of updates about requests not known yet.

A back-end may publish a request long after its `requested_datetime` (moderation, batch entry, a queue), so a read
by creation date from the last poll onwards never sees it. The ongoing import therefore re-reads a look-back of
creation dates, reads by `updated_datetime` where the back-end can filter on it, and imports, by id, the requests
that updates were heard about before the request itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from civicloop_open311.wire import RemoteUpdate

SENT_BY_US = "sent by CivicLoop"  # how an import's skip reason begins when the request is one CivicLoop sent


@dataclass(frozen=True)
class ImportWindows:
    """What one ongoing import reads, each up to now: creation dates from `requested_start`, and update dates from
    `updated_start` (None: the back-end cannot filter on them)."""

    requested_start: datetime
    updated_start: datetime | None


def import_windows(
    now: datetime,
    last_end: datetime | None,
    *,
    overlap: timedelta,
    lookback: timedelta,
    first_look_back: timedelta,
    by_updated: bool,
    look_back_due: bool = True,
) -> ImportWindows:
    """Resume where the last import ended (minus the overlap; the first one looks back `first_look_back`) and, when
    the look-back is due, read no fewer creation dates than it: a request published late still falls in it."""
    resume = last_end - overlap if last_end is not None else now - first_look_back
    requested = min(resume, now - lookback) if look_back_due else resume
    return ImportWindows(requested, resume if by_updated else None)


def look_back_due(now: datetime, last_look_back: datetime | None, every: timedelta) -> bool:
    """The look-back re-reads days of requests already decided: once `every`, not every poll."""
    return last_look_back is None or now - last_look_back >= every


class State(StrEnum):
    """Where an update about a request not known yet stands (`outbound.backend_unknown_updates.state`)."""

    pending = "pending"  # not known: fetched by id when the body imports
    ours = "ours"  # a request CivicLoop sent: waits for its reference (a batch token resolving)
    applied = "applied"  # applied to the request once it was known
    covered = "covered"  # the request's import already stood for it
    skipped = (
        "skipped"  # the request is not imported (excluded, no category, no location): nothing to apply to
    )
    given_up = "given_up"  # never became known


OPEN_STATES = (State.pending, State.ours)


class Step(StrEnum):
    apply = "apply"  # the request is known: apply the update the usual way
    cover = "cover"  # the import stood for it: record it as seen, publish nothing
    wait = "wait"  # keep it (ours, waiting for the reference; or the body does not import)
    fetch = "fetch"  # ask the back-end for the request by id and import it
    skip = "skip"
    give_up = "give_up"


@dataclass(frozen=True)
class Known:
    """What CivicLoop knows of the request an update is about."""

    referenced: bool  # outbound.external_refs has it
    import_outcome: str | None = None  # outbound.backend_imports: imported, skipped or None
    import_reason: str = ""
    import_decided_at: datetime | None = None


@dataclass(frozen=True)
class Limits:
    max_fetches: int = 5  # asks by id before an update whose request the back-end never returns is given up
    max_wait: timedelta = timedelta(days=7)  # for a reference or an import that never comes


def next_step(
    known: Known,
    *,
    remembered_at: datetime,
    now: datetime,
    attempts: int,
    importing: bool,
    limits: Limits = Limits(),
) -> Step:
    """What to do now with an update remembered at `remembered_at` about a request not known then."""
    if known.import_outcome == "imported" and known.import_decided_at is not None:
        # the import read the request after the update was heard of, so it already stands for it
        return Step.cover if remembered_at < known.import_decided_at else Step.apply
    if known.referenced:
        return Step.apply
    if known.import_outcome == "skipped" and not known.import_reason.startswith(SENT_BY_US):
        return Step.skip
    ours = known.import_outcome == "skipped"
    if now - remembered_at >= limits.max_wait:
        return Step.give_up
    if ours or not importing:
        return Step.wait
    return Step.give_up if attempts >= limits.max_fetches else Step.fetch


def give_up_reason(known: Known, *, importing: bool, attempts: int) -> str:
    if known.import_outcome == "skipped":
        return "sent by CivicLoop, and its reference never arrived"
    if importing and attempts:
        return f"the back-end did not return the request in {attempts} reads by id"
    return "the request never became known (the body does not import)"


def update_record(update: RemoteUpdate) -> dict[str, Any]:
    """An update as kept in `outbound.backend_unknown_updates.update` (JSON)."""
    return {
        "update_id": update.update_id,
        "service_request_id": update.service_request_id,
        "status": update.status,
        "updated_datetime": update.updated_datetime.isoformat(),  # to the microsecond
        "description": update.description,
        "media_url": update.media_url,
        "external_status_code": update.external_status_code,
    }


def update_from_record(record: Mapping[str, Any]) -> RemoteUpdate:
    return RemoteUpdate(
        update_id=record["update_id"],
        service_request_id=record["service_request_id"],
        status=record["status"],
        updated_datetime=datetime.fromisoformat(record["updated_datetime"]),
        description=record.get("description") or "",
        media_url=record.get("media_url"),
        external_status_code=record.get("external_status_code"),
    )
