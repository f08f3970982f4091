"""Where intake's staff token keys come from: the secrets; in dev and test without a signing key, an ephemeral pair
(beside any verify keys a test set, so the tokens it mints pass too); in production, no key, no start."""

from __future__ import annotations

from uuid import uuid4

import pytest
from civicloop_intake.settings import Environment, IntakeSettings, staff_token_keys
from civicloop_runtime.secrets import SecretNotFound
from civicloop_staff.roles import Role
from civicloop_staff.tokens import InvalidStaffToken, StaffTokenIssuer, new_signing_key

SIGNING = "CIVICLOOP_SECRET_STAFF_TOKEN_SIGNING_KEY"
VERIFY = "CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS"


def token(issuer: StaffTokenIssuer, role: str = "agent") -> str:
    return issuer.issue(staff_id=uuid4(), jurisdiction_id="demo", roles=[role])


def test_in_test_without_keys_an_ephemeral_pair_signs_and_verifies(monkeypatch):
    monkeypatch.delenv(SIGNING, raising=False)
    monkeypatch.delenv(VERIFY, raising=False)
    issuer, verifier = staff_token_keys(IntakeSettings(env=Environment.test))
    assert verifier.verify(token(issuer)).roles == {Role.agent}
    other, _ = staff_token_keys(IntakeSettings(env=Environment.test))
    with pytest.raises(InvalidStaffToken):  # another process's ephemeral key is not this one's
        verifier.verify(token(other))


def test_a_test_s_own_verify_keys_are_kept_beside_the_ephemeral_one(monkeypatch):
    private, public = new_signing_key("tests")
    monkeypatch.delenv(SIGNING, raising=False)
    monkeypatch.setenv(VERIFY, public)
    issuer, verifier = staff_token_keys(IntakeSettings(env=Environment.test))
    assert verifier.verify(token(issuer)).roles == {Role.agent}
    assert verifier.verify(token(StaffTokenIssuer(private), "admin")).roles == {Role.admin}


def test_the_configured_pair_is_used_and_production_needs_it(monkeypatch):
    private, public = new_signing_key("deployed")
    monkeypatch.setenv(SIGNING, private)
    monkeypatch.setenv(VERIFY, public)
    settings = IntakeSettings(env=Environment.production, vault_pepper="a pepper of sixteen bytes or more")
    issuer, verifier = staff_token_keys(settings)
    assert verifier.verify(token(StaffTokenIssuer(private))).roles == {Role.agent}
    assert verifier.verify(token(issuer)).roles == {Role.agent}
    monkeypatch.delenv(SIGNING)
    with pytest.raises(SecretNotFound):
        staff_token_keys(settings)
