"""Settings rules and G-60..G-62: which jurisdiction a request is about in single and multi mode."""

import pytest
from civicloop_gateway.domain.jurisdictions import (
    JurisdictionMissing,
    JurisdictionNotFound,
    resolve_jurisdiction,
)
from civicloop_gateway.settings import DEV_PEPPER, Environment, GatewaySettings, JurisdictionsMode
from pydantic import ValidationError

KNOWN = {"springfield.example.gov", "shelbyville.example.gov"}


async def _exists(jurisdiction_id: str) -> bool:
    return jurisdiction_id in KNOWN


async def resolve(given, *, single=False, default=None):
    return await resolve_jurisdiction(given, single=single, default=default, exists=_exists)


async def test_G_61_multi_mode_missing_is_400_unknown_is_404():
    with pytest.raises(JurisdictionMissing):
        await resolve(None)
    with pytest.raises(JurisdictionMissing):
        await resolve("  ")  # G-50: empty is absent
    with pytest.raises(JurisdictionNotFound):
        await resolve("ogdenville.example.gov")
    assert await resolve("shelbyville.example.gov") == "shelbyville.example.gov"


async def test_G_60_multi_mode_with_a_default_reads_a_missing_id_as_the_default():
    assert await resolve(None, default="springfield.example.gov") == "springfield.example.gov"
    assert (
        await resolve("shelbyville.example.gov", default="springfield.example.gov")
        == "shelbyville.example.gov"
    )


async def test_G_62_single_mode_accepts_its_own_or_none_and_404s_any_other():
    assert await resolve(None, single=True, default="springfield.example.gov") == "springfield.example.gov"
    assert await resolve("springfield.example.gov", single=True, default="springfield.example.gov")
    with pytest.raises(JurisdictionNotFound):
        await resolve("shelbyville.example.gov", single=True, default="springfield.example.gov")


def test_the_pepper_is_required_in_production_and_the_dev_one_refused_there():
    with pytest.raises(ValidationError, match="VAULT_PEPPER"):
        GatewaySettings(env=Environment.production)
    with pytest.raises(ValidationError, match="development pepper"):
        GatewaySettings(env=Environment.production, vault_pepper=DEV_PEPPER)
    assert GatewaySettings(env=Environment.test).pepper == DEV_PEPPER.encode()
    assert GatewaySettings(env=Environment.production, vault_pepper="x" * 32).pepper == b"x" * 32


def test_G_62_single_mode_needs_its_jurisdiction():
    with pytest.raises(ValidationError, match="DEFAULT_JURISDICTION_ID"):
        GatewaySettings(env=Environment.test, jurisdictions_mode=JurisdictionsMode.single)


def test_the_public_resolution_is_block_level_or_coarser():
    assert GatewaySettings(env=Environment.test).public_h3_resolution == 9
    assert GatewaySettings(env=Environment.test, public_h3_resolution=7).public_h3_resolution == 7
    with pytest.raises(ValidationError, match="public_h3_resolution"):
        GatewaySettings(env=Environment.test, public_h3_resolution=12)


def test_consumer_groups_carry_the_topic_prefix_and_the_base_url_has_no_trailing_slash():
    s = GatewaySettings(env=Environment.test, topic_prefix="t1.", public_base_url="https://api.city.gov/")
    assert (
        s.request_consumer_group == "t1.gateway.open311.v2"
    )  # v2: the public place (a replay from offset 0)
    assert s.config_consumer_group == "t1.gateway.config.v1"
    assert s.open311_base_url == "https://api.city.gov/open311/v2"


def test_the_partners_commands_read_the_gateway_s_settings_without_the_pepper(monkeypatch):
    """They digest and seal nothing, so the partners Job is not given the secret (least privilege)."""
    from civicloop_gateway.entrypoints.partners_cli import _settings

    monkeypatch.setenv("CIVICLOOP_ENV", "production")
    monkeypatch.delenv("CIVICLOOP_VAULT_PEPPER", raising=False)
    with pytest.raises(ValidationError, match="VAULT_PEPPER"):
        GatewaySettings()
    settings = _settings()
    assert isinstance(settings, GatewaySettings) and settings.vault_pepper is None
    with pytest.raises(RuntimeError, match="seals nothing"):
        _ = settings.pepper
