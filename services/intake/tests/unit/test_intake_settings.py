import pytest
from civicloop_intake.settings import DEV_PEPPER, Environment, IntakeSettings
from pydantic import ValidationError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in ("CIVICLOOP_ENV", "CIVICLOOP_VAULT_PEPPER", "CIVICLOOP_DEFAULT_JURISDICTION"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_to_start_without_a_pepper():
    with pytest.raises(ValidationError, match="CIVICLOOP_VAULT_PEPPER is required"):
        IntakeSettings()


def test_production_refuses_the_public_development_pepper(monkeypatch):
    monkeypatch.setenv("CIVICLOOP_VAULT_PEPPER", DEV_PEPPER)
    with pytest.raises(ValidationError, match="development pepper"):
        IntakeSettings()


def test_a_short_pepper_is_refused_everywhere():
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        IntakeSettings(env=Environment.dev, vault_pepper="short")


def test_production_with_a_pepper_starts(monkeypatch):
    monkeypatch.setenv("CIVICLOOP_VAULT_PEPPER", "a-long-enough-secret-pepper")
    settings = IntakeSettings()
    assert settings.pepper == b"a-long-enough-secret-pepper"
    assert settings.default_jurisdiction == "demo"
    assert "a-long-enough" not in repr(settings)


def test_dev_and_test_fall_back_to_the_development_pepper(monkeypatch):
    monkeypatch.setenv("CIVICLOOP_ENV", "dev")
    assert IntakeSettings().pepper == DEV_PEPPER.encode()
    assert IntakeSettings(env=Environment.test).pepper == DEV_PEPPER.encode()


def test_phone_region_must_be_known():
    assert IntakeSettings(env=Environment.test, default_phone_region="gb").default_phone_region == "GB"
    with pytest.raises(ValidationError, match="default_phone_region"):
        IntakeSettings(env=Environment.test, default_phone_region="XX")
