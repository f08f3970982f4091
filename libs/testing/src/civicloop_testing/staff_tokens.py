"""Staff access tokens for tests: one test key pair, a verifier for the app under test and `Authorization` headers
for whichever staff member a test plays."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

from civicloop_staff.tokens import StaffTokenIssuer, StaffTokenVerifier, new_signing_key

_PRIVATE, PUBLIC_JWKS = new_signing_key("test-staff-key")
# Long-lived, unlike real ones (15 minutes): a header made when a test module is imported outlives a long run.
ISSUER = StaffTokenIssuer(_PRIVATE, ttl=timedelta(hours=12))


def verifier_for_tests() -> StaffTokenVerifier:
    """Verifies the tokens `staff_headers` makes (the key set an app under test installs)."""
    return StaffTokenVerifier(PUBLIC_JWKS)


def staff_headers(
    staff_id: UUID | None = None,
    *roles: str,
    jurisdiction_id: str = "demo",
    teams: tuple[str, ...] = (),
) -> dict[str, str]:
    """`Authorization: Bearer` with a fresh token for `staff_id` (a new one when None), an agent unless `roles`."""
    token = ISSUER.issue(
        staff_id=staff_id or uuid.uuid4(),
        jurisdiction_id=jurisdiction_id,
        roles=roles or ("agent",),
        teams=teams,
    )
    return {"Authorization": f"Bearer {token}"}
