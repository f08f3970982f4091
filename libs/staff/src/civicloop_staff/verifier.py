"""The one way a service admits staff: `require_staff(*roles)`, a FastAPI dependency over the shared verifier.

    install_staff_verifier(app, StaffTokenVerifier.from_secret(), render_error=the_service_s_renderer)
    @router.post("/api/v1/agent/requests/{number}/acknowledge")
    async def acknowledge(staff: Annotated[StaffPrincipal, Depends(require_staff(Role.agent, Role.supervisor))]):
        ...  # staff.actor is the event's actor

The token travels as `Authorization: Bearer <token>`, and each service checks it itself: nothing a proxy or a
client sets in another header is believed. Deny by default: no token or a bad one answers 401, a valid token
without one of the route's roles 403 (both in the service's own error format), and a service that forgot to
install the verifier answers 500 rather than let anyone through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from civicloop_runtime.app import ErrorRenderer, json_error
from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.tokens import InvalidStaffToken, StaffTokenVerifier

log = logging.getLogger(__name__)

SCHEME_NAME = "staffToken"
# In every route's OpenAPI security requirements, which is how a walk over the document tells staff routes apart.
_bearer = HTTPBearer(
    scheme_name=SCHEME_NAME,
    bearerFormat="JWT",
    description="A staff access token from sign-in (short-lived, signed; see docs/staff.md)",
    auto_error=False,
)
STAFF_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No staff token, or one that is not valid (expired, badly signed)"},
    403: {"description": "A valid staff token without a role this route admits"},
}


class StaffRefused(Exception):
    """A staff route refused its caller; rendered by the handler `install_staff_verifier` adds."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


class StaffVerifierMissing(RuntimeError):
    """A staff route in an app where `install_staff_verifier` was never called: a wiring mistake, refused."""


def install_staff_verifier(
    app: FastAPI, verifier: StaffTokenVerifier, *, render_error: ErrorRenderer = json_error
) -> None:
    """Give the app its verifier, and answer refusals in the service's error format (`render_error`, the same
    renderer the service skeleton uses)."""
    app.state.staff_verifier = verifier

    async def refused(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StaffRefused):  # registered for StaffRefused only
            raise exc
        response = render_error(request, exc.status, exc.error, exc.detail)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="civicloop-staff"'
        return response

    app.add_exception_handler(StaffRefused, refused)


def require_staff(*roles: Role) -> Callable[..., Awaitable[StaffPrincipal]]:
    """A dependency admitting a verified staff member holding one of `roles` (none named: any role)."""
    admitted = frozenset(roles)

    async def staff_member(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> StaffPrincipal:
        verifier = getattr(request.app.state, "staff_verifier", None)
        if not isinstance(verifier, StaffTokenVerifier):
            raise StaffVerifierMissing("install_staff_verifier(app, ...) before serving staff routes")
        if credentials is None:
            raise StaffRefused(
                401, "unauthenticated", "this route needs a staff token (Authorization: Bearer)"
            )
        try:
            principal = verifier.verify(credentials.credentials)
        except InvalidStaffToken as exc:
            log.info("staff token refused", extra={"reason": str(exc), "path": request.url.path})
            raise StaffRefused(401, "unauthenticated", "the staff token is not valid; sign in again") from exc
        if admitted and not principal.has_any(admitted):
            wanted = ", ".join(sorted(r.value for r in admitted))
            log.info(  # the staff id is opaque: who tried what, for the audit, with no name
                "staff role refused", extra={"staff_id": str(principal.staff_id), "path": request.url.path}
            )
            raise StaffRefused(403, "forbidden", f"this route needs one of the roles: {wanted}")
        request.state.staff = principal
        return principal

    return staff_member
