"""CivicLoop's statuses as Open311 shows them.

* core `status` (ST-01, SR-02): only `open` or `closed`; every workflow state but `closed` is open.
* servicerequestupdates `status` (ST-02, FX-01): mySociety's lower-case extended set, so FixMyStreet can show
  progress: acknowledged is `investigating` (seen, being looked at), in progress is `in_progress`, a closed request
  coming back is `reopen`. `on_hold` has no counterpart in that set and shows as `open`; the exact state travels in
  `external_status_code`.
* `extensions=true` `detailed_status` (ST-03, CitySDK): RECEIVED, IN_PROCESS, PROCESSED.
"""

from __future__ import annotations

from civicloop_events.payloads import RequestStatus

OPEN311_STATUSES = ("open", "closed")

_EXTENDED = {
    RequestStatus.open: "open",
    RequestStatus.acknowledged: "investigating",
    RequestStatus.in_progress: "in_progress",
    RequestStatus.on_hold: "open",
    RequestStatus.closed: "closed",
}

_CITYSDK = {
    RequestStatus.open: "RECEIVED",
    RequestStatus.acknowledged: "RECEIVED",
    RequestStatus.in_progress: "IN_PROCESS",
    RequestStatus.on_hold: "IN_PROCESS",
    RequestStatus.closed: "PROCESSED",
}


def open311_status(status: RequestStatus) -> str:
    return status.open311_status


def extended_status(status: RequestStatus, *, previous: RequestStatus | None = None) -> str:
    """The lower-case extended status of an update that moved a request from `previous` to `status`."""
    if previous is RequestStatus.closed and status is not RequestStatus.closed:
        return "reopen"
    return _EXTENDED[status]


def citysdk_detailed_status(status: RequestStatus) -> str:
    return _CITYSDK[status]
