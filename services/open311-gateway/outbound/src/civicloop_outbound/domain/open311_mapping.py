"""Pure rules of the Open311 back-end integration: statuses in, categories back, update ids, what came from us,
plausible places and new notes."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from civicloop_events import Location, request_numbers
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
        agency_responsible=row.agency_responsible,
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
    """(our code or None, how it was matched) for a back-end's category, first match wins:

    1. the body's `import_service_code_map` (theirs -> ours, many to one);
    2. the reverse of `service_code_map` (ours -> theirs), when exactly one of ours maps to it: when several do,
       the reverse cannot choose and is passed over (`import_service_code_map` settles it);
    3. the same code, if the body handles it;
    4. the body's `import_fallback_service_code`;
    5. `fallback`, the process-wide default.
    None means skip, with why.
    """
    ambiguous: list[str] = []
    if backend_code:
        if backend_code in connection.import_service_code_map:
            return connection.import_service_code_map[backend_code], "import_service_code_map"
        reverse = sorted(
            ours for ours, theirs in connection.service_code_map.items() if theirs == backend_code
        )
        if len(reverse) == 1:
            return reverse[0], "service_code_map"
        ambiguous = reverse
        if backend_code in body_codes:
            return backend_code, "same code"
    why = f" (service_code_map maps {', '.join(ambiguous)} to it)" if ambiguous else ""
    if connection.import_fallback_service_code:
        return connection.import_fallback_service_code, f"the body's fallback{why}"
    if fallback:
        return fallback, f"fallback{why}"
    return (
        None,
        f"no category matches the back-end's service_code {backend_code!r} and no fallback is set{why}",
    )


def excluded(backend_code: str | None, connection: Open311Connection) -> str | None:
    """Why a back-end's category is not imported (`import_exclude_service_codes`), or None."""
    if backend_code and backend_code in connection.import_exclude_service_codes:
        return f"service_code {backend_code} is excluded"
    return None


# Nothing but sea lies within hundreds of kilometres of (0, 0): a point this near it is a placeholder or a failed
# geocode (Helsinki's feed has rows at (0.0, 0.034), 3.8 km away), never a street.
NULL_ISLAND_RADIUS_M = 10_000.0
_EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(h))


def point_flag(lat: float, long: float, area_bbox: tuple[float, float, float, float] | None) -> str | None:
    """Why a back-end's point is implausible (not a WGS84 point; at or near 0,0; outside the body's area), or None."""
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        return "the point is not a WGS84 point"
    if distance_m(lat, long, 0.0, 0.0) <= NULL_ISLAND_RADIUS_M:
        return "the point is at or near 0,0"
    if area_bbox is not None:
        west, south, east, north = area_bbox
        if not (west <= long <= east and south <= lat <= north):
            return "the point is outside the body's area"
    return None


def imported_location(
    row: RemoteRequest, connection: Open311Connection
) -> tuple[Location | None, str | None]:
    """(where the request is, why the back-end's point was not used): an implausible point is dropped and the
    address kept; None when nothing usable is left (the flag says why, or there was never a place)."""
    address = (row.address or None) and row.address[:500]
    address_id = (row.address_id or None) and row.address_id[:120]
    flag = None
    if row.lat is not None and row.long is not None:
        flag = point_flag(row.lat, row.long, connection.area_bbox)
        if flag is None:
            return Location(lat=row.lat, long=row.long, address_string=address, address_id=address_id), None
    if address or address_id:
        return Location(address_string=address, address_id=address_id), flag
    return None, flag


def new_note(description: str, last_note: str | None) -> str | None:
    """The text of an update's note when it says something new (not empty, not the note last heard), else None."""
    note = description.strip()[:4000]
    if not note or note == (last_note or "").strip()[:4000]:
        return None
    return note


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
