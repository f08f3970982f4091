"""Who may call intake's staff routes: a verified staff token (`civicloop_staff.verifier`), never a header a client or
proxy sets. The app installs the verifier (`entrypoints.http`); these are the routes' dependencies."""

from __future__ import annotations

from typing import Annotated

from civicloop_staff.roles import READS_REQUESTS, WORKS_REQUESTS, StaffPrincipal
from civicloop_staff.verifier import require_staff
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param

_working_staff = require_staff(*WORKS_REQUESTS)
WorkingStaff = Annotated[StaffPrincipal, Depends(_working_staff)]
ReadingStaff = Annotated[StaffPrincipal, Depends(require_staff(*READS_REQUESTS))]


async def working_staff_of(request: Request) -> StaffPrincipal:
    """The verified agent or supervisor behind a request to a route that is public for everyone else (a submission
    that says it comes from an agent); refused (401/403) like any staff route."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
        if scheme.lower() == "bearer" and token
        else None
    )
    return await _working_staff(request, credentials)
