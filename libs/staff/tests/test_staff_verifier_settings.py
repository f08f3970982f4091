"""A service without verify keys: closed in dev and test (every token refused), not started elsewhere."""

from __future__ import annotations

import uuid

import pytest
from civicloop_runtime.secrets import SecretNotFound
from civicloop_staff.settings import StaffVerifierSettings
from civicloop_staff.tokens import InvalidStaffToken
from civicloop_testing.staff_tokens import ISSUER, PUBLIC_JWKS


def _token() -> str:
    return ISSUER.issue(staff_id=uuid.uuid4(), jurisdiction_id="demo", roles=("admin",))


@pytest.fixture
def no_verify_keys(monkeypatch: pytest.MonkeyPatch) -> StaffVerifierSettings:
    monkeypatch.delenv("CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS", raising=False)
    return StaffVerifierSettings()


@pytest.mark.parametrize("env", ["dev", "test"])
def test_without_keys_dev_and_test_refuse_every_token(
    no_verify_keys: StaffVerifierSettings, env: str
) -> None:
    verifier = no_verify_keys.staff_verifier_or_closed(env)
    with pytest.raises(InvalidStaffToken):
        verifier.verify(_token())


@pytest.mark.parametrize("env", ["production", "staging"])
def test_without_keys_elsewhere_the_service_does_not_start(
    no_verify_keys: StaffVerifierSettings, env: str
) -> None:
    with pytest.raises(SecretNotFound):
        no_verify_keys.staff_verifier_or_closed(env)


def test_with_keys_the_configured_set_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS", PUBLIC_JWKS)
    principal = StaffVerifierSettings().staff_verifier_or_closed("production").verify(_token())
    assert principal.jurisdiction_id == "demo"
