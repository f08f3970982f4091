"""Who may call intake's staff routes: a verified staff token (`civicloop_staff.verifier`), never a header a client or
proxy sets. The app installs the verifier (`entrypoints.http`); these are the routes' dependencies."""

from __future__ import annotations

from typing import Annotated

from civicloop_staff.roles import READS_REQUESTS, WORKS_REQUESTS, StaffPrincipal
from civicloop_staff.verifier import require_staff
from fastapi import Depends

WorkingStaff = Annotated[StaffPrincipal, Depends(require_staff(*WORKS_REQUESTS))]
ReadingStaff = Annotated[StaffPrincipal, Depends(require_staff(*READS_REQUESTS))]
