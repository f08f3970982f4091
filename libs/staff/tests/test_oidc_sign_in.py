"""Single sign-on against a real OpenID Connect provider process (`oidc-provider-mock`, on 127.0.0.1): the whole
code flow as a browser drives it (the provider's own login form), the claims mapped to roles, and tokens that must
not let anyone in (tampered, signed by another key, for another client, replayed with another nonce, expired)
refused. The provider is started with `--require-nonce`; it does not check PKCE itself, so the tests check what the
client sends."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from civicloop_runtime.secrets import SecretNotFound
from civicloop_staff.oidc import (
    IdTokenRejected,
    NoRoleMapped,
    OidcProviderConfig,
    OidcSignIn,
    ProviderUnavailable,
    SignInRefused,
    SignInStart,
    TokenResponse,
)
from civicloop_staff.oidc_claims import ClaimMapping, StaffGrant
from civicloop_testing.oidc_provider import oidc_provider, put_person
from civicloop_testing.processes import free_port
from joserfc import jwt
from joserfc.jwk import RSAKey

REDIRECT_URI = "http://127.0.0.1:8000/staff/oidc/callback"
SECRET_ENV = {"CIVICLOOP_SECRET_SPRINGFIELD_OIDC_CLIENT": "client-secret-for-tests"}
MAPPING = ClaimMapping(
    roles={"311-agents": ("agent",), "311-leads": ("agent", "supervisor")},
    teams={"dept-roads": "roads"},
)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The provider process on a free port; its issuer URL once its discovery document answers."""
    with oidc_provider() as issuer:
        yield issuer


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def config(issuer: str, **overrides: object) -> OidcProviderConfig:
    fields: dict[str, object] = {
        "jurisdiction_id": "springfield",
        "issuer": issuer,
        "client_id": "civicloop-springfield",
        "client_secret_ref": "springfield.oidc-client",
        "redirect_uri": REDIRECT_URI,
        "claims": MAPPING,
    }
    return OidcProviderConfig.model_validate(fields | overrides)


async def log_in(
    http: httpx.AsyncClient, start: SignInStart, sub: str, *, deny: bool = False
) -> dict[str, str]:
    """What a browser does at the provider: open its login form, submit it; the query it is sent back with."""
    form = await http.get(start.authorization_url)
    assert form.status_code == 200, form.text
    answer = await http.post(start.authorization_url, data={"action": "deny"} if deny else {"sub": sub})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(back.query).items()}


async def tokens_for(
    http: httpx.AsyncClient, sign_in: OidcSignIn, sub: str
) -> tuple[SignInStart, TokenResponse]:
    start = await sign_in.begin()
    return start, await sign_in.exchange_code(start.pending, await log_in(http, start, sub))


def unverified(segment: str) -> dict[str, object]:
    """A token's header or payload as anyone can read it, signature unchecked."""
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


def with_payload(id_token: str, **changes: object) -> str:
    """The same token, signature kept, with claims changed: what a forger who has no key can do."""
    header, payload, signature = id_token.split(".")
    forged = (
        base64.urlsafe_b64encode(json.dumps(unverified(payload) | changes).encode()).rstrip(b"=").decode()
    )
    return f"{header}.{forged}.{signature}"


async def test_a_full_sign_in_maps_the_claims_to_roles_and_teams(provider, http):
    await put_person(
        http,
        provider,
        "alice",
        {"email": "alice@springfield.example", "groups": ["311-leads", "dept-roads", "canteen"]},
    )
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start = await sign_in.begin()

    sent = {name: values[0] for name, values in parse_qs(urlsplit(start.authorization_url).query).items()}
    assert sent["response_type"] == "code"
    assert sent["client_id"] == "civicloop-springfield"
    assert sent["redirect_uri"] == REDIRECT_URI
    assert sent["scope"].split() == ["openid", "email", "profile"]
    assert sent["state"] == start.pending.state
    assert sent["nonce"] == start.pending.nonce
    assert sent["code_challenge_method"] == "S256"
    assert sent["code_challenge"] == create_s256_code_challenge(start.pending.code_verifier)
    assert "code_verifier" not in sent

    identity = await sign_in.complete(start.pending, await log_in(http, start, "alice"))

    assert (identity.jurisdiction_id, identity.issuer, identity.subject) == ("springfield", provider, "alice")
    assert identity.grant == StaffGrant(roles=frozenset({"agent", "supervisor"}), teams=frozenset({"roads"}))
    assert identity.email == "alice@springfield.example"
    assert "alice@springfield.example" not in repr(identity)
    assert start.pending.code_verifier not in repr(start)


async def test_someone_the_mapping_gives_no_role_is_denied(provider, http):
    await put_person(
        http, provider, "bob", {"email": "bob@springfield.example", "groups": ["dept-roads", "canteen"]}
    )
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start = await sign_in.begin()
    with pytest.raises(NoRoleMapped):
        await sign_in.complete(start.pending, await log_in(http, start, "bob"))


async def test_a_tampered_token_is_refused(provider, http):
    await put_person(http, provider, "carol", {"groups": ["311-agents"]})
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start, tokens = await tokens_for(http, sign_in, "carol")
    claims = await sign_in.validate_id_token(tokens.id_token, nonce=start.pending.nonce)
    assert claims["groups"] == ["311-agents"]

    for forged in (
        with_payload(tokens.id_token, groups=["311-leads"]),
        with_payload(tokens.id_token, sub="alice"),
        tokens.id_token[:-4] + ("AAAA" if not tokens.id_token.endswith("AAAA") else "BBBB"),
    ):
        with pytest.raises(IdTokenRejected, match="bad_signature"):
            await sign_in.validate_id_token(forged, nonce=start.pending.nonce)
    with pytest.raises(IdTokenRejected):
        await sign_in.validate_id_token("not.a-token", nonce=start.pending.nonce)


async def test_a_token_signed_by_another_key_under_the_providers_key_id_is_refused(provider, http):
    await put_person(http, provider, "carol", {"groups": ["311-agents"]})
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start, tokens = await tokens_for(http, sign_in, "carol")
    header, payload, _ = tokens.id_token.split(".")
    forger_key = RSAKey.generate_key(2048, parameters={"kid": str(unverified(header).get("kid"))})
    forged = jwt.encode(unverified(header), unverified(payload) | {"groups": ["311-leads"]}, forger_key)
    with pytest.raises(IdTokenRejected, match="bad_signature"):
        await sign_in.validate_id_token(forged, nonce=start.pending.nonce)


async def test_an_unknown_key_id_has_the_keys_read_again_at_most_every_30_seconds(provider):
    key_reads: list[str] = []

    async def count_key_reads(request: httpx.Request) -> None:
        if request.url.path == "/jwks":
            key_reads.append(str(request.url))

    now = [datetime.now(UTC)]
    async with httpx.AsyncClient(timeout=10, event_hooks={"request": [count_key_reads]}) as http:
        await put_person(http, provider, "carol", {"groups": ["311-agents"]})
        sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV, clock=lambda: now[0])
        start, tokens = await tokens_for(http, sign_in, "carol")
        await sign_in.validate_id_token(tokens.id_token, nonce=start.pending.nonce)
        assert len(key_reads) == 1

        header, payload, _ = tokens.id_token.split(".")
        rotated = RSAKey.generate_key(2048, parameters={"kid": "rotated-in"})
        unknown_kid = jwt.encode(unverified(header) | {"kid": "rotated-in"}, unverified(payload), rotated)
        first_read = now[0]
        for seconds_later, reads in ((1, 1), (31, 2), (32, 2), (62, 3)):
            now[0] = first_read + timedelta(seconds=seconds_later)
            with pytest.raises(IdTokenRejected, match="invalid_key_id"):
                await sign_in.validate_id_token(unknown_kid, nonce=start.pending.nonce)
            assert len(key_reads) == reads, f"after {seconds_later} s"
        # The provider's own key still verifies, without another read.
        await sign_in.validate_id_token(tokens.id_token, nonce=start.pending.nonce)
        assert len(key_reads) == 3


async def test_a_token_issued_to_another_client_is_refused(provider, http):
    await put_person(http, provider, "dave", {"groups": ["311-agents"]})
    other_app = OidcSignIn(config(provider, client_id="another-app"), http, environ=SECRET_ENV)
    start, tokens = await tokens_for(http, other_app, "dave")
    # Good for the client it was issued to ...
    assert (await other_app.validate_id_token(tokens.id_token, nonce=start.pending.nonce))["aud"] == [
        "another-app"
    ]
    # ... and not for CivicLoop, whatever its nonce.
    ours = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    with pytest.raises(IdTokenRejected, match="aud"):
        await ours.validate_id_token(tokens.id_token, nonce=start.pending.nonce)


async def test_a_token_replayed_into_another_sign_in_or_expired_is_refused(provider, http):
    await put_person(http, provider, "erin", {"groups": ["311-agents"]})
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start, tokens = await tokens_for(http, sign_in, "erin")
    another = await sign_in.begin()
    with pytest.raises(IdTokenRejected, match="nonce"):
        await sign_in.validate_id_token(tokens.id_token, nonce=another.pending.nonce)

    hours_later = OidcSignIn(
        config(provider),
        http,
        environ=SECRET_ENV,
        clock=lambda: datetime.now(UTC) + timedelta(hours=2),
    )
    with pytest.raises(IdTokenRejected, match="expired"):
        await hours_later.validate_id_token(tokens.id_token, nonce=start.pending.nonce)


async def test_a_callback_with_another_state_is_refused_and_its_code_not_spent(provider, http):
    await put_person(http, provider, "frank", {"groups": ["311-agents"]})
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start = await sign_in.begin()
    callback = await log_in(http, start, "frank")
    with pytest.raises(SignInRefused, match="state"):
        await sign_in.complete(start.pending, callback | {"state": "forged-state"})
    with pytest.raises(SignInRefused, match="state"):
        await sign_in.complete(start.pending, {k: v for k, v in callback.items() if k != "state"})
    with pytest.raises(SignInRefused, match="another issuer"):
        await sign_in.complete(start.pending, callback | {"iss": "https://login.elsewhere.example"})
    # The code was never sent to the provider: the real callback still completes, once.
    assert (await sign_in.complete(start.pending, callback)).subject == "frank"
    with pytest.raises(SignInRefused, match="invalid_grant"):
        await sign_in.complete(start.pending, callback)


async def test_a_refusal_at_the_provider_or_a_late_return_is_refused(provider, http):
    await put_person(http, provider, "grace", {"groups": ["311-agents"]})
    sign_in = OidcSignIn(config(provider), http, environ=SECRET_ENV)
    start = await sign_in.begin()
    with pytest.raises(SignInRefused, match="access_denied"):
        await sign_in.complete(start.pending, await log_in(http, start, "grace", deny=True))

    start = await sign_in.begin()
    callback = await log_in(http, start, "grace")
    late = OidcSignIn(
        config(provider, sign_in_ttl_s=60),
        http,
        environ=SECRET_ENV,
        clock=lambda: start.pending.started_at + timedelta(seconds=61),
    )
    with pytest.raises(SignInRefused, match="too long"):
        await late.complete(start.pending, callback)
    elsewhere = OidcSignIn(config(provider, jurisdiction_id="shelbyville"), http, environ=SECRET_ENV)
    with pytest.raises(SignInRefused, match="another jurisdiction"):
        await elsewhere.complete(start.pending, callback)


async def test_the_client_secret_comes_from_its_reference(provider, http):
    await put_person(http, provider, "heidi", {"groups": ["311-agents"]})
    sign_in = OidcSignIn(config(provider), http, environ={})
    start = await sign_in.begin()
    with pytest.raises(SecretNotFound):
        await sign_in.complete(start.pending, await log_in(http, start, "heidi"))


async def test_a_provider_that_does_not_answer_is_reported_as_unavailable(http):
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ProviderUnavailable, match="discovery"):
        await OidcSignIn(config(nobody), http, environ=SECRET_ENV).begin()
