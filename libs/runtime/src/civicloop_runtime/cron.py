"""Routes a scheduler calls: admitted by the deployment's cron token, or by a staff member of the right role.

A cron runner sends the token in its own header, `CivicLoop-Cron-Token`, compared in constant time with the
secret `secret_ref` names (`civicloop_runtime.secrets`, read when a call comes, so a rotated token needs no restart);
it needs no session. Anyone else goes through the service's staff check (`staff`, e.g. `require_staff(Role.admin)`
of `civicloop_staff.verifier`), called here with the bearer credentials so the route stays a staff route in the
OpenAPI document. Missing credentials: 401; a wrong cron token, or a process with no token set: 403; a staff token
is judged by `staff` (401 not valid, 403 without the role). Refusals are raised as `refused(status, error, detail)`,
the service's own refusal, so they are answered in its error format.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency's annotations, which name a local.
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from civicloop_runtime.secrets import SecretNotFound, resolve_secret

log = logging.getLogger("civicloop.runtime.cron")

CRON_TOKEN_HEADER = "CivicLoop-Cron-Token"  # noqa: S105 - the header's name, not a token
STAFF_SCHEME = "staffToken"  # the staff verifier's scheme name, so the route reads as a staff route

P = TypeVar("P")


@dataclass(frozen=True)
class CronCaller(Generic[P]):
    """Who called: the cron runner (`staff` None) or a staff member (their verified principal)."""

    staff: P | None

    @property
    def by_cron(self) -> bool:
        return self.staff is None


def require_cron_or_staff(
    secret_ref: str,
    staff: Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[P]],
    *,
    refused: Callable[[int, str, str], Exception],
    environ: Mapping[str, str] | None = None,
) -> Callable[..., Awaitable[CronCaller[P]]]:
    """A dependency admitting the cron runner holding the secret `secret_ref`, or whoever `staff` admits."""
    bearer = HTTPBearer(scheme_name=STAFF_SCHEME, auto_error=False)

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        cron_token: Annotated[
            str | None,
            Header(alias=CRON_TOKEN_HEADER, include_in_schema=False),
        ] = None,
    ) -> CronCaller[P]:
        if cron_token is not None:
            if not _is_the_token(cron_token, secret_ref, environ):
                log.info("cron token refused", extra={"path": request.url.path})
                raise refused(403, "forbidden", "the cron token is not the one this deployment holds")
            return CronCaller(staff=None)
        if credentials is None:
            raise refused(
                401,
                "unauthenticated",
                f"this route needs the cron token ({CRON_TOKEN_HEADER}) or a staff token",
            )
        return CronCaller(staff=await staff(request, credentials))

    return caller


def _is_the_token(given: str, secret_ref: str, environ: Mapping[str, str] | None) -> bool:
    try:
        expected = resolve_secret(secret_ref, environ)
    except SecretNotFound:
        log.warning("a cron call came but no cron token is set: refused", extra={"secret_ref": secret_ref})
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
