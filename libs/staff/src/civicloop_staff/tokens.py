"""Staff access tokens: short-lived JWTs (RFC 9068 profile) signed with Ed25519, issued at sign-in, checked by
every service with the public keys alone.

Asymmetric on purpose: only the service that signs staff in holds the private key (`staff.token-signing-key`);
every other service verifies with the public key set (`staff.token-verify-keys`, a JWKS: several keys while one
is rotated out), so no service but the signer can mint a token. Both come from the secrets mechanism
(`civicloop_runtime.secrets`). Tokens live `ACCESS_TOKEN_TTL`: that bounds how long a disabled account's last
token keeps working.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from uuid import UUID

import jwt
from civicloop_runtime.secrets import resolve_secret
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from civicloop_staff.roles import Role, StaffPrincipal, normalised_roles, normalised_teams

ALGORITHM = "EdDSA"
# RFC 9068: an ID token, or any other JWT signed with the same key, is not an access token.
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
DEFAULT_ISSUER = "civicloop-staff"
DEFAULT_AUDIENCE = "civicloop"
ACCESS_TOKEN_TTL = timedelta(minutes=15)
LEEWAY = timedelta(seconds=30)  # clocks of two services may differ this much
MAX_TOKEN_CHARS = 8_192  # ours are under 1 kB; a longer one is refused before it is parsed
SIGNING_KEY_REF = "staff.token-signing-key"
VERIFY_KEYS_REF = "staff.token-verify-keys"


class InvalidStaffToken(Exception):
    """The token proves nothing: malformed, badly signed, of another issuer or audience, expired, or not ours.
    The message says which for logs; callers answer every case the same (401)."""


def new_signing_key(kid: str | None = None) -> tuple[str, str]:
    """A new Ed25519 key: (the private JWK for the signer's secret, the public JWKS for every verifier's)."""
    kid = kid or f"staff-{uuid.uuid4().hex[:12]}"
    private = OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=True)
    private.update(kid=kid, alg=ALGORITHM, use="sig")
    public = {k: v for k, v in private.items() if k != "d"}
    return json.dumps(private), json.dumps({"keys": [public]})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StaffTokenIssuer:
    """Signs access tokens: built from the private JWK (`from_secret` reads it from the process's secrets)."""

    private_jwk: str = field(repr=False)  # never in a log line or a traceback's locals
    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    ttl: timedelta = ACCESS_TOKEN_TTL

    @classmethod
    def from_secret(
        cls, ref: str = SIGNING_KEY_REF, environ: Mapping[str, str] | None = None
    ) -> StaffTokenIssuer:
        issuer = cls(private_jwk=resolve_secret(ref, environ))
        _ = issuer._key  # a key that cannot be used fails at start-up, not at the first sign-in
        return issuer

    @cached_property
    def _key(self) -> jwt.PyJWK:
        key = jwt.PyJWK(json.loads(self.private_jwk))
        if (
            key.key_id is None
            or key.algorithm_name != ALGORITHM
            or not isinstance(key.key, Ed25519PrivateKey)
        ):
            raise ValueError("the staff token signing key must be a private Ed25519 JWK with a kid")
        return key

    def issue(
        self,
        *,
        staff_id: UUID,
        jurisdiction_id: str,
        roles: Iterable[Role | str],
        teams: Iterable[str] = (),
        methods: Iterable[str] = ("pwd",),
        now: datetime | None = None,
    ) -> str:
        key = self._key
        roles = normalised_roles(roles)
        if not roles:
            raise ValueError("a staff member with no role gets no token")
        issued = now or _now()
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(staff_id),
            "jti": uuid.uuid4().hex,
            "iat": int(issued.timestamp()),
            "nbf": int(issued.timestamp()),
            "exp": int((issued + self.ttl).timestamp()),
            "jur": jurisdiction_id,
            "roles": [r.value for r in roles],
            "teams": normalised_teams(teams),
            "amr": list(methods),
        }
        headers = {"kid": key.key_id, "typ": TOKEN_TYPE}
        return jwt.encode(claims, key.key, algorithm=ALGORITHM, headers=headers)


@dataclass(frozen=True)
class StaffTokenVerifier:
    """Checks an access token: signature by a key of the set, `typ`, issuer, audience, time, and its claims."""

    public_jwks: str
    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    leeway: timedelta = LEEWAY

    @classmethod
    def from_secret(
        cls,
        ref: str = VERIFY_KEYS_REF,
        environ: Mapping[str, str] | None = None,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> StaffTokenVerifier:
        verifier = cls(public_jwks=resolve_secret(ref, environ), issuer=issuer, audience=audience)
        _ = verifier._keys  # a key set that cannot be read fails at start-up, not at the first request
        return verifier

    @cached_property
    def _keys(self) -> dict[str, jwt.PyJWK]:
        keys = jwt.PyJWKSet.from_json(self.public_jwks).keys
        if any(k.key_id is None or k.algorithm_name != ALGORITHM for k in keys):
            raise ValueError("every staff token key needs a kid and the EdDSA algorithm")
        return {str(k.key_id): k for k in keys}

    def verify(self, token: str) -> StaffPrincipal:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidStaffToken("too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidStaffToken(f"not a JWT: {type(exc).__name__}") from exc
        if header.get("typ") != TOKEN_TYPE:
            raise InvalidStaffToken("not a staff access token (typ)")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidStaffToken("signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],  # never the header's choice: no "none", no HMAC with the public key
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "sub", "jti", "iat", "exp", "jur", "roles"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidStaffToken(f"refused: {type(exc).__name__}") from exc
        return _principal(claims)


def _principal(claims: Mapping[str, Any]) -> StaffPrincipal:
    try:
        roles = normalised_roles(claims["roles"])
        principal = StaffPrincipal(
            staff_id=UUID(str(claims["sub"])),
            jurisdiction_id=str(claims["jur"]),
            roles=frozenset(roles),
            teams=frozenset(str(t) for t in claims.get("teams", [])),
            session_id=str(claims["jti"]),
            methods=tuple(str(m) for m in claims.get("amr", [])),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidStaffToken("claims of the wrong shape") from exc
    if not principal.roles:
        raise InvalidStaffToken("no role")
    return principal
