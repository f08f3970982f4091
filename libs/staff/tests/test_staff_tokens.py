"""Access tokens: issued by the holder of the private key, verified with the public set, refused otherwise."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from civicloop_runtime.secrets import SecretNotFound, secret_env_name
from civicloop_staff.roles import Role
from civicloop_staff.tokens import (
    ACCESS_TOKEN_TTL,
    SIGNING_KEY_REF,
    VERIFY_KEYS_REF,
    InvalidStaffToken,
    StaffTokenIssuer,
    StaffTokenVerifier,
    new_signing_key,
)

PRIVATE, PUBLIC = new_signing_key("k1")
ISSUER, VERIFIER = StaffTokenIssuer(PRIVATE), StaffTokenVerifier(PUBLIC)
STAFF = uuid.uuid4()


def issue(**overrides) -> str:
    args = {"staff_id": STAFF, "jurisdiction_id": "demo", "roles": ["agent"], "teams": ["streets"]}
    return ISSUER.issue(**{**args, **overrides})


def segments(token: str) -> list[dict]:
    head, body, _ = token.split(".")
    return [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (head, body)]


def forge(header: dict, claims: dict, signature: str = "") -> str:
    def enc(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(claims)}.{signature}"


def hmac_signed_with_the_public_key() -> str:
    """The classic confusion: HS256 keyed with the verifier's public key, which anyone can read."""
    unsigned = forge({"alg": "HS256", "kid": "k1", "typ": "at+jwt"}, segments(issue(roles=["admin"]))[1])
    mac = hmac.new(PUBLIC.encode(), unsigned.rstrip(".").encode(), hashlib.sha256).digest()
    return unsigned + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_a_token_carries_who_what_and_for_how_long():
    header, claims = segments(issue(roles=["supervisor", "agent"], methods=["pwd", "otp"]))
    assert header == {"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_TTL.total_seconds()
    assert claims["roles"] == ["agent", "supervisor"] and claims["amr"] == ["pwd", "otp"]
    principal = VERIFIER.verify(issue(roles=["supervisor", "agent"]))
    assert principal.staff_id == STAFF and principal.jurisdiction_id == "demo"
    assert principal.roles == {Role.agent, Role.supervisor} and principal.teams == {"streets"}
    assert principal.actor.id == str(STAFF)


def test_no_role_no_token():
    with pytest.raises(ValueError, match="no role"):
        issue(roles=[])


def test_the_public_set_holds_no_private_part_and_the_issuer_never_shows_its_key():
    assert all("d" not in key for key in json.loads(PUBLIC)["keys"])
    assert json.loads(PRIVATE)["d"] not in repr(ISSUER)


def test_a_signing_key_that_is_not_a_private_ed25519_key_is_refused_at_start():
    environ = {secret_env_name(SIGNING_KEY_REF): json.dumps(json.loads(PUBLIC)["keys"][0])}
    with pytest.raises(ValueError, match="private Ed25519"):
        StaffTokenIssuer.from_secret(environ=environ)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda: "", id="empty"),
        pytest.param(lambda: "not.a.token", id="garbage"),
        pytest.param(lambda: issue() + "A" * 10_000, id="too long"),
        pytest.param(lambda: issue()[:-4] + "AAAA", id="signature changed"),
        pytest.param(
            lambda: ".".join(
                [issue().split(".")[0], issue(roles=["admin"]).split(".")[1], issue().split(".")[2]]
            ),
            id="claims swapped under another signature",
        ),
        pytest.param(
            lambda: StaffTokenIssuer(new_signing_key("k1")[0]).issue(
                staff_id=STAFF, jurisdiction_id="demo", roles=["admin"]
            ),
            id="same kid, another key",
        ),
        pytest.param(
            lambda: StaffTokenIssuer(new_signing_key("k9")[0]).issue(
                staff_id=STAFF, jurisdiction_id="demo", roles=["admin"]
            ),
            id="unknown kid",
        ),
        pytest.param(
            lambda: issue(now=datetime.now(UTC) - ACCESS_TOKEN_TTL - timedelta(minutes=1)), id="expired"
        ),
        pytest.param(
            lambda: StaffTokenIssuer(PRIVATE, audience="elsewhere").issue(
                staff_id=STAFF, jurisdiction_id="demo", roles=["agent"]
            ),
            id="wrong audience",
        ),
        pytest.param(
            lambda: StaffTokenIssuer(PRIVATE, issuer="someone-else").issue(
                staff_id=STAFF, jurisdiction_id="demo", roles=["agent"]
            ),
            id="wrong issuer",
        ),
        pytest.param(
            lambda: forge({"alg": "none", "kid": "k1", "typ": "at+jwt"}, segments(issue())[1]), id="alg none"
        ),
        pytest.param(lambda: hmac_signed_with_the_public_key(), id="HMAC keyed with the public key"),
        pytest.param(
            lambda: jwt.encode(
                {**segments(issue())[1], "typ": None},
                jwt.PyJWK(json.loads(PRIVATE)).key,
                algorithm="EdDSA",
                headers={"kid": "k1", "typ": "JWT"},
            ),
            id="another kind of JWT signed with the key",
        ),
        pytest.param(
            lambda: jwt.encode(
                {**segments(issue())[1], "roles": ["root"]},
                jwt.PyJWK(json.loads(PRIVATE)).key,
                algorithm="EdDSA",
                headers={"kid": "k1", "typ": "at+jwt"},
            ),
            id="a role that does not exist",
        ),
    ],
)
def test_refused(bad):
    with pytest.raises(InvalidStaffToken):
        VERIFIER.verify(bad())


def test_a_rotated_set_accepts_the_old_and_the_new_key():
    new_private, new_public = new_signing_key("k2")
    both = json.dumps({"keys": json.loads(PUBLIC)["keys"] + json.loads(new_public)["keys"]})
    verifier = StaffTokenVerifier(both)
    assert verifier.verify(issue()).staff_id == STAFF
    assert verifier.verify(
        StaffTokenIssuer(new_private).issue(staff_id=STAFF, jurisdiction_id="demo", roles=["auditor"])
    ).roles == {Role.auditor}


def test_keys_come_from_the_secrets_mechanism():
    environ = {secret_env_name(SIGNING_KEY_REF): PRIVATE, secret_env_name(VERIFY_KEYS_REF): PUBLIC}
    token = StaffTokenIssuer.from_secret(environ=environ).issue(
        staff_id=STAFF, jurisdiction_id="demo", roles=["agent"]
    )
    assert StaffTokenVerifier.from_secret(environ=environ).verify(token).staff_id == STAFF
    with pytest.raises(SecretNotFound):
        StaffTokenVerifier.from_secret(environ={})
    with pytest.raises(ValueError, match="EdDSA"):
        StaffTokenVerifier.from_secret(
            environ={
                secret_env_name(VERIFY_KEYS_REF): json.dumps(
                    {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}
                )
            }
        )


def test_a_service_reads_where_its_key_set_is_from_its_settings(monkeypatch: pytest.MonkeyPatch):
    from civicloop_staff.settings import StaffVerifierSettings

    monkeypatch.setenv("CIVICLOOP_STAFF_TOKEN_VERIFY_KEYS_REF", "demo.staff-keys")
    monkeypatch.setenv(secret_env_name("demo.staff-keys"), PUBLIC)
    monkeypatch.setenv("CIVICLOOP_STAFF_TOKEN_AUDIENCE", "intake")
    verifier = StaffVerifierSettings().staff_verifier()
    with pytest.raises(InvalidStaffToken):
        verifier.verify(issue())  # made for the audience "civicloop"
    intake = StaffTokenIssuer(PRIVATE, audience="intake")
    assert (
        verifier.verify(intake.issue(staff_id=STAFF, jurisdiction_id="demo", roles=["agent"])).staff_id
        == STAFF
    )
