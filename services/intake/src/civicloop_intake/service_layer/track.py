"""Track a request by its number and the phone given with it.

Every "not found" — unknown number, wrong phone, erased resident, malformed input — is the same answer at the same
moment (the end of the read-your-writes wait), so neither the answer nor its timing tells whether a number exists.

Guessing phones against one number is bounded: every well-formed number, known or not, counts its attempts
(`TrackAttempts`); one that found its request is handed back, so only misses add up, and past the limit the number
is refused (`TooManyAttempts`) to everyone until its window ends. Counted whether the number exists or not, the
refusal tells nothing either.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

from civicloop_events import request_numbers
from civicloop_events.personal_data import PersonalDataUnreadable

from civicloop_intake.domain.contact import InvalidContact, normalise_phone
from civicloop_intake.domain.merging import MAX_CHAIN
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.ports import Catalogue, TrackAttempts, TrackingView, Vault

POLL_S = 0.05


class RequestNotFound(Exception):
    """No request matches this number and phone (deliberately vague)."""


class TooManyAttempts(Exception):
    """This number was tracked with too many wrong phones; it may be tracked again in `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many attempts on this request number; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class TrackedRequestView:
    request: TrackedRequest
    service_name: str | None
    # A merged request's resident follows the root of its merge chain: that request, as far as the view has it.
    original: TrackedRequest | None = None
    original_service_name: str | None = None


async def track_request(
    *,
    number: str,
    phone: str,
    after: LogPosition | None,
    tracking: TrackingView,
    catalogue: Catalogue,
    vault: Vault,
    attempts: TrackAttempts,
    default_region: str,
    wait_s: float,
) -> TrackedRequestView:
    deadline = time.monotonic() + wait_s
    try:
        canonical = request_numbers.parse(number)
        e164 = normalise_phone(phone, default_region=default_region)
    except (request_numbers.InvalidRequestNumber, InvalidContact):
        return await _not_found(deadline)
    retry_after_s = await attempts.reserve(canonical)
    if retry_after_s is not None:
        raise TooManyAttempts(retry_after_s)
    view = await _matched(canonical, e164, after, tracking, catalogue, vault, deadline)
    await attempts.release(canonical)
    return view


async def _matched(
    canonical: str,
    e164: str,
    after: LogPosition | None,
    tracking: TrackingView,
    catalogue: Catalogue,
    vault: Vault,
    deadline: float,
) -> TrackedRequestView:
    """The request with this number, when its resident's phone is `e164`; RequestNotFound at `deadline` otherwise."""
    if after is not None:
        await tracking.wait_until_applied(after, timeout_s=max(0.0, deadline - time.monotonic()))
    request = await tracking.get(canonical)
    while request is None and time.monotonic() < deadline:
        # Just submitted, the view has not caught up yet.
        await asyncio.sleep(POLL_S)
        request = await tracking.get(canonical)
    if request is None or request.contact is None:
        return await _not_found(deadline)
    try:
        contact = await vault.unseal(request.contact)
    except PersonalDataUnreadable:
        return await _not_found(deadline)
    if not contact.phone or not hmac.compare_digest(contact.phone.encode(), e164.encode()):
        return await _not_found(deadline)
    return await view_of(request, tracking, catalogue)


async def view_of(
    request: TrackedRequest, tracking: TrackingView, catalogue: Catalogue
) -> TrackedRequestView:
    """What its resident sees of `request`: with its service's name and, when merged, the original it follows."""
    service = await catalogue.get(request.jurisdiction_id, request.service_code)
    original = await _followed(request, tracking)
    original_service = (
        await catalogue.get(original.jurisdiction_id, original.service_code) if original else None
    )
    return TrackedRequestView(
        request,
        service.service_name if service else None,
        original,
        original_service.service_name if original_service else None,
    )


async def _followed(request: TrackedRequest, tracking: TrackingView) -> TrackedRequest | None:
    """The root original of a merged request (None when not merged, or the view has not seen the original yet)."""
    found, seen = None, {request.request_number}
    current = request.merged_into
    for _ in range(MAX_CHAIN):
        if current is None or current in seen:
            break
        seen.add(current)
        nxt = await tracking.get(current)
        if nxt is None:
            break
        found, current = nxt, nxt.merged_into
    return found


async def _not_found(deadline: float) -> TrackedRequestView:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    raise RequestNotFound
