"""Which jurisdiction a request is about (G-60..G-62), as `GatewaySettings` documents the two modes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


class JurisdictionMissing(LookupError):
    """No jurisdiction_id where one is needed (a 400, G-61)."""


class JurisdictionNotFound(LookupError):
    """A jurisdiction_id this endpoint does not serve (a 404, G-61)."""


async def resolve_jurisdiction(
    given: str | None,
    *,
    single: bool,
    default: str | None,
    exists: Callable[[str], Awaitable[bool]],
) -> str:
    """`given` is the parameter's value with empty meaning absent (G-50)."""
    given = (given or "").strip() or None
    if single:
        if default is None:
            raise JurisdictionMissing("this endpoint has no jurisdiction configured")
        if given is not None and given != default:
            raise JurisdictionNotFound(
                f"jurisdiction_id {given!r} not found: this endpoint serves {default!r}"
            )
        return default
    if given is None:
        if default is None:
            raise JurisdictionMissing(
                "jurisdiction_id was not provided; this endpoint serves several jurisdictions"
            )
        given = default
    if not await exists(given):
        raise JurisdictionNotFound(f"jurisdiction_id {given!r} not found")
    return given
