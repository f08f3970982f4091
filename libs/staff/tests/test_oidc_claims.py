"""The pure rules of single sign-on: claims -> roles and teams (deny when no role maps), the provider's discovery
document checked, and the configuration's own checks."""

from __future__ import annotations

import pytest
from civicloop_staff.oidc import OidcProviderConfig, ProviderUnavailable, oidc_providers, provider_metadata
from civicloop_staff.oidc_claims import ClaimMapping, NoRoleMapped, StaffGrant, claim_values, map_claims
from pydantic import ValidationError

MAPPING = ClaimMapping(
    roles={
        "311-agents": ("agent",),
        "311-leads": ("agent", "supervisor"),
        "it-admins": ("admin",),
        "audit": ("auditor",),
    },
    teams={"dept-roads": "roads", "dept-parks": "parks"},
)


def test_values_of_the_roles_claim_give_their_roles_and_teams():
    grant = map_claims({"groups": ["311-leads", "dept-roads", "dept-parks", "canteen"]}, MAPPING)
    assert grant == StaffGrant(roles=frozenset({"agent", "supervisor"}), teams=frozenset({"roads", "parks"}))


def test_many_values_may_give_the_same_role():
    grant = map_claims({"groups": ["311-agents", "311-leads"]}, MAPPING)
    assert grant.roles == frozenset({"agent", "supervisor"})


def test_a_single_string_claim_is_one_value():
    assert map_claims({"groups": "audit"}, MAPPING).roles == frozenset({"auditor"})


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"groups": []},
        {"groups": ["canteen", "dept-roads"]},  # a team alone is no access
        {"groups": ["311-Agents"]},  # matched exactly: case counts
        {"groups": "311-agents it-admins"},  # one string is one value, not a list
        {"groups": [{"name": "311-agents"}]},  # not strings
        {"groups": 7},
        {"roles": ["311-agents"]},  # another claim than the one configured
    ],
    ids=["none", "empty", "team-only", "case", "spaces", "objects", "number", "other-claim"],
)
def test_no_mapped_role_is_denied(claims):
    with pytest.raises(NoRoleMapped):
        map_claims(claims, MAPPING)


def test_roles_and_teams_may_come_from_nested_and_different_claims():
    mapping = ClaimMapping(
        roles_claim="realm_access.roles",
        roles={"agent": ("agent",)},
        teams_claim="department",
        teams={"Public Works": "public-works"},
    )
    claims = {"realm_access": {"roles": ["agent", "offline_access"]}, "department": "Public Works"}
    assert map_claims(claims, mapping) == StaffGrant(
        roles=frozenset({"agent"}), teams=frozenset({"public-works"})
    )


def test_claim_values_follow_a_path_and_keep_only_strings():
    claims = {"a": {"b": ["x", 1, None, "y"]}, "c": "z"}
    assert claim_values(claims, "a.b") == ("x", "y")
    assert claim_values(claims, "c") == ("z",)
    assert claim_values(claims, "c.d") == ()
    assert claim_values(claims, "missing") == ()


def test_a_mapping_names_at_least_one_value_and_only_known_roles():
    with pytest.raises(ValidationError):
        ClaimMapping(roles={})
    with pytest.raises(ValidationError):
        ClaimMapping(roles={"311-agents": ("superuser",)})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ClaimMapping(roles={"311-agents": ()})


def config(**overrides: object) -> OidcProviderConfig:
    fields: dict[str, object] = {
        "jurisdiction_id": "springfield",
        "issuer": "https://login.springfield.example",
        "client_id": "civicloop",
        "client_secret_ref": "springfield.oidc-client",
        "redirect_uri": "https://civicloop.springfield.example/staff/oidc/callback",
        "claims": MAPPING,
    }
    return OidcProviderConfig.model_validate(fields | overrides)


def test_the_configuration_requires_https_except_on_loopback_and_the_openid_scope():
    assert config(issuer="http://127.0.0.1:9400").issuer == "http://127.0.0.1:9400"
    assert config(redirect_uri="http://localhost:8000/cb").redirect_uri == "http://localhost:8000/cb"
    for bad in (
        {"issuer": "http://login.springfield.example"},
        {"redirect_uri": "http://civicloop.springfield.example/cb"},
        {"scopes": ("email", "profile")},
        {"client_secret": "s3cret"},  # a secret is named by reference, never held
    ):
        with pytest.raises(ValidationError):
            config(**bad)


DISCOVERY = {
    "issuer": "https://login.springfield.example",
    "authorization_endpoint": "https://login.springfield.example/authorize",
    "token_endpoint": "https://login.springfield.example/token",
    "jwks_uri": "https://login.springfield.example/jwks",
    "id_token_signing_alg_values_supported": ["HS256", "RS256", "none"],
}


def test_discovery_keeps_the_endpoints_and_only_asymmetric_algorithms():
    metadata = provider_metadata(DISCOVERY, "https://login.springfield.example")
    assert metadata.token_endpoint == "https://login.springfield.example/token"
    assert metadata.signing_algorithms == ("RS256",)


def test_discovery_defaults_to_rs256_when_the_document_does_not_say():
    document = {k: v for k, v in DISCOVERY.items() if k != "id_token_signing_alg_values_supported"}
    assert provider_metadata(document, DISCOVERY["issuer"]).signing_algorithms == ("RS256",)


@pytest.mark.parametrize(
    "change",
    [
        {
            "issuer": "https://login.springfield.example/"
        },  # exactly the configured issuer, trailing slash included
        {"issuer": "https://evil.example"},
        {"token_endpoint": "http://login.springfield.example/token"},
        {"jwks_uri": None},
        {"id_token_signing_alg_values_supported": ["HS256", "none"]},
    ],
    ids=["issuer-slash", "issuer-other", "insecure-endpoint", "no-keys", "no-algorithm"],
)
def test_discovery_refuses_a_document_that_does_not_fit(change):
    document = {k: v for k, v in (DISCOVERY | change).items() if v is not None}
    with pytest.raises(ProviderUnavailable):
        provider_metadata(document, "https://login.springfield.example")


def test_the_providers_are_one_per_jurisdiction():
    springfield = config().model_dump()
    shelbyville = springfield | {
        "jurisdiction_id": "shelbyville",
        "issuer": "https://sso.shelbyville.example",
    }
    providers = oidc_providers([springfield, shelbyville])
    assert providers["shelbyville"].issuer == "https://sso.shelbyville.example"
    assert providers["springfield"].claims == MAPPING
    with pytest.raises(ValueError, match="two OpenID Connect providers"):
        oidc_providers([springfield, shelbyville, springfield])
