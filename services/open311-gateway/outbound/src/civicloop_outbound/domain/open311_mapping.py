"""Pure rules of the Open311 back-end integration: statuses in, categories back, update ids, what came from us."""

from __future__ import annotations

import re
from collections.abc import Sequence

from civicloop_events import request_numbers
from civicloop_events.payloads import Open311Connection, RequestStatus
from civicloop_open311.dates import format_w3c
from civicloop_open311.wire import RemoteRequest, RemoteUpdate

# What `wire.civicloop_marker` writes: `[CivicLoop XXXX-XXXX]` (a request number, Crockford base32).
MARKER = re.compile(r"\[CivicLoop [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\]")

# When the body's `status_map` says nothing: core statuses, then mySociety's extended set (ST-02).
DEFAULT_STATUSES: dict[str, RequestStatus] = {
    "open": RequestStatus.open,
    "reopen": RequestStatus.open,
    "closed": RequestStatus.closed,
    "investigating": RequestStatus.acknowledged,
    "acknowledged": RequestStatus.acknowledged,
    "in_progress": RequestStatus.in_progress,
    "action_scheduled": RequestStatus.in_progress,
    "fixed": RequestStatus.closed,
    "no_further_action": RequestStatus.closed,
    "not_councils_responsibility": RequestStatus.closed,
    "duplicate": RequestStatus.closed,
    "internal_referral": RequestStatus.closed,
}


def map_status(
    connection: Open311Connection, status: str, external_status_code: str | None = None
) -> RequestStatus | None:
    """Our status for a back-end's: `external_status_code` in the body's map, then `status` in it, then defaults.

    None when nothing knows the back-end's word (the update is still recorded, the status is left alone).
    """
    mapping = {k.lower(): v for k, v in connection.status_map.items()}
    if external_status_code and external_status_code.lower() in mapping:
        return mapping[external_status_code.lower()]
    key = status.strip().lower()
    if key in mapping:
        return mapping[key]
    return DEFAULT_STATUSES.get(key)


def boilerplate_note(body_name: str, status: RequestStatus) -> str:
    words = {
        RequestStatus.open: "open",
        RequestStatus.acknowledged: "acknowledged",
        RequestStatus.in_progress: "in progress",
        RequestStatus.on_hold: "on hold",
        RequestStatus.closed: "closed",
    }[status]
    return f"{body_name} marked this report as {words}."


def synthetic_update(row: RemoteRequest) -> RemoteUpdate | None:
    """A GET requests row as an update; its id is (external id, updated_datetime, status), so only a change repeats."""
    when = row.updated_datetime or row.requested_datetime
    if when is None:
        return None
    return RemoteUpdate(
        update_id=f"{row.service_request_id}|{format_w3c(when)}|{row.status}",
        service_request_id=row.service_request_id,
        status=row.status,
        updated_datetime=when,
        description=row.status_notes or "",
        media_url=None,
        external_status_code=row.external_status_code,
    )


def came_from_us(row: RemoteRequest, connection: Open311Connection) -> str | None:
    """Why a back-end's request is one CivicLoop sent (its `id_field` attribute, or our description marker)."""
    if connection.id_field and row.attributes.get(connection.id_field):
        return f"attribute {connection.id_field} carries a CivicLoop number"
    if MARKER.search(row.description):
        return "description carries the CivicLoop marker"
    return None


def our_service_code(
    backend_code: str | None, connection: Open311Connection, body_codes: Sequence[str], fallback: str | None
) -> tuple[str | None, str]:
    """(our code or None, how it was matched): the reverse `service_code_map`, the same code if the body handles
    it, else the configured fallback; None means skip."""
    if backend_code:
        reverse = {theirs: ours for ours, theirs in connection.service_code_map.items()}
        if backend_code in reverse:
            return reverse[backend_code], "service_code_map"
        if backend_code in body_codes:
            return backend_code, "same code"
    if fallback:
        return fallback, "fallback"
    return None, f"no category matches the back-end's service_code {backend_code!r} and no fallback is set"


IMPORT_PRODUCER = "open311-import"  # its tag in `request_numbers.PRODUCER_TAGS`


def import_identity(jurisdiction_id: str, body_id: str, external_id: str) -> str:
    return f"{jurisdiction_id}\x1f{body_id}\x1f{external_id}"


def import_number(jurisdiction_id: str, body_id: str, external_id: str, attempt: int = 0) -> str:
    """The CivicLoop number of an imported request, hashed from its identity so a retried import reuses it.

    Inside the importer's tag, so it never meets a number intake or the gateway drew. Should two back-end requests
    hash alike, the one imported second takes `attempt` 1 (then 2, ...): see `import_numbers.free_import_number`.
    """
    identity = import_identity(jurisdiction_id, body_id, external_id)
    return request_numbers.hashed(IMPORT_PRODUCER, identity, attempt)
