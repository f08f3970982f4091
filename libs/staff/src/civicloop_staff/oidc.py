"""Single sign-on over OpenID Connect: the authorization-code flow with PKCE, state and nonce, against the identity
provider a jurisdiction configures, and the ID token checked before anyone is let in.

One `OidcSignIn` per jurisdiction. `begin` gives the URL to send the browser to and a `PendingSignIn` the caller keeps
on the server (keyed by its `state`) until the browser comes back; `complete` takes the callback's query parameters,
exchanges the code (with the PKCE verifier and the client secret, read from its secret reference), checks the ID
token (signature from the provider's published keys, issuer, audience, authorised party, expiry, nonce, access-token
hash) and maps its claims to roles (`oidc_claims`: no role, no entry). The person is identified by issuer and
subject, never by email: an address can change hands.

Nothing here logs: the claims hold personal data (email, name) and the pending sign-in holds secrets (verifier,
nonce).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from civicloop_runtime.secrets import resolve_secret
from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicloop_staff.oidc_claims import ClaimMapping, NoRoleMapped, StaffGrant, map_claims

__all__ = [
    "IdTokenRejected",
    "NoRoleMapped",
    "OidcError",
    "OidcIdentity",
    "OidcProviderConfig",
    "OidcSignIn",
    "PendingSignIn",
    "ProviderMetadata",
    "ProviderUnavailable",
    "SignInRefused",
    "SignInStart",
    "TokenResponse",
    "oidc_providers",
    "provider_metadata",
]

# Asymmetric signatures only: `none` and the HMAC family (keyed with the client secret, which the provider and every
# holder of the secret share) are never accepted for an ID token.
KEYS_REREAD_AFTER = timedelta(seconds=30)
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


class OidcError(Exception):
    """A sign-in that did not succeed; the message names the step, never a token, code or claim value."""


class ProviderUnavailable(OidcError):
    """The provider could not be reached, or answered its discovery, keys or token endpoint with an error."""


class SignInRefused(OidcError):
    """The callback is not one this sign-in can accept: the provider refused, the state differs, it came too late."""


class IdTokenRejected(OidcError):
    """The ID token failed a check: signature, issuer, audience, authorised party, expiry, nonce or hash."""


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_or_loopback(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return url
    raise ValueError(f"{url!r} must be https (plain http only on this machine's loopback)")


class OidcProviderConfig(BaseModel):
    """A jurisdiction's identity provider, as the jurisdiction's operators set it up. The secret is a reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jurisdiction_id: str = Field(min_length=1)
    issuer: str = Field(min_length=1, description="exactly as the provider's discovery document states it")
    client_id: str = Field(min_length=1)
    client_secret_ref: str = Field(min_length=1, description="resolved by `civicloop_runtime.secrets`")
    redirect_uri: str = Field(min_length=1, description="CivicLoop's callback, registered at the provider")
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    claims: ClaimMapping
    clock_skew_s: int = Field(default=60, ge=0, le=300)
    sign_in_ttl_s: int = Field(default=600, gt=0, le=3600, description="how long a started sign-in may take")

    @field_validator("issuer", "redirect_uri")
    @classmethod
    def _secure_url(cls, url: str) -> str:
        return _https_or_loopback(url)

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in scopes:
            raise ValueError("scopes must include 'openid'")
        return scopes


def oidc_providers(configs: Iterable[Mapping[str, Any]]) -> dict[str, OidcProviderConfig]:
    """The jurisdictions' providers (as read from the operators' configuration), by jurisdiction; one each."""
    providers: dict[str, OidcProviderConfig] = {}
    for raw in configs:
        config = OidcProviderConfig.model_validate(raw)
        if config.jurisdiction_id in providers:
            raise ValueError(f"two OpenID Connect providers for jurisdiction {config.jurisdiction_id!r}")
        providers[config.jurisdiction_id] = config
    return providers


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document the code flow uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    signing_algorithms: tuple[str, ...]


def provider_metadata(document: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
    """The discovery document checked: its issuer is exactly the configured one (OpenID Connect Discovery 4.3), its
    endpoints are secure, and it signs ID tokens with an algorithm accepted here."""
    if document.get("issuer") != expected_issuer:
        raise ProviderUnavailable("the discovery document names another issuer than the one configured")
    try:
        endpoints = {
            name: _https_or_loopback(str(document[name]))
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        }
    except KeyError as missing:
        raise ProviderUnavailable(f"the discovery document has no {missing.args[0]}") from None
    except ValueError as insecure:
        raise ProviderUnavailable(f"the discovery document names an insecure endpoint: {insecure}") from None
    # RS256 is the default when the document does not say (OpenID Connect Discovery 3).
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(alg for alg in SIGNING_ALGORITHMS if alg in offered)
    if not algorithms:
        raise ProviderUnavailable("the provider signs ID tokens with no algorithm accepted here")
    return ProviderMetadata(issuer=expected_issuer, signing_algorithms=algorithms, **endpoints)


@dataclass(frozen=True)
class PendingSignIn:
    """What the server keeps between sending the browser to the provider and its return. Secret: never log it, never
    put more than its `state` in a URL or a cookie that is not sealed."""

    jurisdiction_id: str
    state: str
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    started_at: datetime


@dataclass(frozen=True)
class SignInStart:
    authorization_url: str = field(repr=False)
    pending: PendingSignIn


@dataclass(frozen=True)
class TokenResponse:
    id_token: str = field(repr=False)
    access_token: str | None = field(repr=False)


@dataclass(frozen=True)
class OidcIdentity:
    """Someone the provider vouched for and this jurisdiction's mapping let in. `email` and `claims` are personal."""

    jurisdiction_id: str
    issuer: str
    subject: str
    grant: StaffGrant
    email: str | None = field(repr=False)
    claims: Mapping[str, Any] = field(repr=False)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OidcSignIn:
    """The code flow for one jurisdiction's provider. Discovery and keys are read once and kept; the keys are read
    again when a token names a key id not seen yet (the provider rotated its keys)."""

    def __init__(
        self,
        config: OidcProviderConfig,
        http: httpx.AsyncClient,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.config, self._http, self._environ, self._clock = config, http, environ, clock
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None
        self._keys_read_at: datetime | None = None

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{what}: {type(error).__name__}") from error

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            document = await self._get_json(
                self.config.issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery"
            )
            if not isinstance(document, Mapping):
                raise ProviderUnavailable("discovery: not a JSON object")
            self._metadata = provider_metadata(document, self.config.issuer)
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        """The provider's published keys. Read again on `refresh` (a token named a key id not seen), but not more
        often than `KEYS_REREAD_AFTER`: tokens with made-up key ids must not turn into a stream of reads."""
        now = self._clock()
        stale = self._keys_read_at is None or now - self._keys_read_at >= KEYS_REREAD_AFTER
        if self._keys is None or (refresh and stale):
            metadata = await self.metadata()
            document = await self._get_json(metadata.jwks_uri, "keys")
            try:
                self._keys = KeySet.import_key_set(document)
            except (JoseError, ValueError, TypeError, KeyError) as error:
                raise ProviderUnavailable(f"keys: {type(error).__name__}") from error
            self._keys_read_at = now
        return self._keys

    async def begin(self) -> SignInStart:
        """The provider's authorization URL for a new sign-in, with a fresh state, nonce and PKCE verifier."""
        metadata = await self.metadata()
        pending = PendingSignIn(
            jurisdiction_id=self.config.jurisdiction_id,
            state=generate_token(43),
            nonce=generate_token(43),
            code_verifier=generate_token(64),
            started_at=self._clock(),
        )
        url = prepare_grant_uri(
            metadata.authorization_endpoint,
            client_id=self.config.client_id,
            response_type="code",
            redirect_uri=self.config.redirect_uri,
            scope=" ".join(self.config.scopes),
            state=pending.state,
            nonce=pending.nonce,
            # The stubs leave this one untyped; it takes the verifier and returns the S256 challenge (RFC 7636 4.2).
            code_challenge=create_s256_code_challenge(pending.code_verifier),  # type: ignore[no-untyped-call]
            code_challenge_method="S256",
        )
        return SignInStart(authorization_url=url, pending=pending)

    def _check_callback(self, pending: PendingSignIn, callback: Mapping[str, str], issuer: str) -> str:
        """The authorization code, once the callback is known to answer this very sign-in, in time."""
        if pending.jurisdiction_id != self.config.jurisdiction_id:
            raise SignInRefused("the sign-in was started for another jurisdiction")
        if self._clock() - pending.started_at > timedelta(seconds=self.config.sign_in_ttl_s):
            raise SignInRefused("the sign-in took too long; start again")
        if "error" in callback:
            # Checked before the state: a refusal grants nothing whoever sent it, and some providers leave the state
            # off their error answers. The error code is the protocol's (`access_denied`, ...); the free-text
            # description is left out.
            raise SignInRefused(f"the provider refused the sign-in: {callback['error'][:64]}")
        if not hmac.compare_digest(callback.get("state", "").encode(), pending.state.encode()):
            raise SignInRefused("the callback's state is not this sign-in's")
        if "iss" in callback and callback["iss"] != issuer:
            # RFC 9207: a provider that names itself in the callback must be the one this sign-in went to.
            raise SignInRefused("the callback names another issuer")
        code = callback.get("code")
        if not code:
            raise SignInRefused("the callback carries no authorization code")
        return code

    async def exchange_code(self, pending: PendingSignIn, callback: Mapping[str, str]) -> TokenResponse:
        """The callback checked and its code exchanged at the token endpoint (client_secret_basic, PKCE verifier)."""
        metadata = await self.metadata()
        code = self._check_callback(pending, callback, metadata.issuer)
        secret = resolve_secret(self.config.client_secret_ref, self._environ)
        # RFC 6749 2.3.1: client id and secret are form-encoded before they go into the Basic credentials.
        auth = httpx.BasicAuth(quote(self.config.client_id, safe=""), quote(secret, safe=""))
        try:
            response = await self._http.post(
                metadata.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.config.redirect_uri,
                    "code_verifier": pending.code_verifier,
                },
                auth=auth,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"token endpoint: {type(error).__name__}") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error_code = body.get("error") if isinstance(body, dict) else None
            if response.status_code == 400 and isinstance(error_code, str):
                raise SignInRefused(f"the provider refused the code: {error_code[:64]}")
            raise ProviderUnavailable(f"token endpoint answered {response.status_code}")
        id_token, access_token = body.get("id_token"), body.get("access_token")
        if not isinstance(id_token, str):
            raise IdTokenRejected("the token response carries no ID token")
        return TokenResponse(
            id_token=id_token, access_token=access_token if isinstance(access_token, str) else None
        )

    async def validate_id_token(
        self, id_token: str, *, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """The ID token's claims, once its signature (the provider's keys) and claims (OpenID Connect Core 3.1.3.7)
        hold; `IdTokenRejected` otherwise."""
        metadata = await self.metadata()
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=metadata.signing_algorithms)
            except InvalidKeyIdError:
                token = jwt.decode(
                    id_token, await self._key_set(refresh=True), algorithms=metadata.signing_algorithms
                )
            claims = CodeIDToken(
                token.claims,
                token.header,
                options={
                    "iss": {"essential": True, "value": metadata.issuer},
                    "aud": {"essential": True, "value": self.config.client_id},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                },
                params={"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token},
            )
            claims.validate(now=int(self._clock().timestamp()), leeway=self.config.clock_skew_s)
        except ClaimError as error:
            raise IdTokenRejected(f"the ID token failed a check: {error.error} ({error.claim})") from None
        except JoseError as error:
            raise IdTokenRejected(f"the ID token failed a check: {error.error}") from None
        except ValueError as error:  # not a JWT at all (wrong segment count, bad base64 or JSON)
            raise IdTokenRejected(f"the ID token cannot be read: {type(error).__name__}") from None
        return dict(claims)

    async def complete(self, pending: PendingSignIn, callback: Mapping[str, str]) -> OidcIdentity:
        """The whole return leg: callback, code exchange, ID token, roles. Raises an `OidcError` or `NoRoleMapped`."""
        tokens = await self.exchange_code(pending, callback)
        claims = await self.validate_id_token(
            tokens.id_token, nonce=pending.nonce, access_token=tokens.access_token
        )
        grant = map_claims(claims, self.config.claims)
        email = claims.get("email")
        return OidcIdentity(
            jurisdiction_id=self.config.jurisdiction_id,
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            grant=grant,
            email=email if isinstance(email, str) else None,
            claims=claims,
        )
