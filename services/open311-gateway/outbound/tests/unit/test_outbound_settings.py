"""The outbound service's one settings class: what it asks for, and only when it needs it."""

from __future__ import annotations

import pytest
from civicloop_outbound.settings import DEV_PEPPER, Environment, OutboundSettings
from pydantic import ValidationError


def test_no_pepper_is_needed_when_contact_details_are_not_sent() -> None:
    settings = OutboundSettings(env=Environment.production)
    assert settings.outbound_include_contact is False and settings.vault_pepper is None


def test_the_pepper_is_required_in_production_when_contact_details_are_sent() -> None:
    with pytest.raises(ValidationError, match="CIVICLOOP_VAULT_PEPPER is required"):
        OutboundSettings(env=Environment.production, outbound_include_contact=True)
    with pytest.raises(ValidationError, match="development pepper"):
        OutboundSettings(env=Environment.production, outbound_include_contact=True, vault_pepper=DEV_PEPPER)
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        OutboundSettings(env=Environment.production, vault_pepper="short")
    assert OutboundSettings(env=Environment.test, outbound_include_contact=True).pepper == DEV_PEPPER.encode()
    given = OutboundSettings(env=Environment.production, outbound_include_contact=True, vault_pepper="p" * 32)
    assert given.pepper == b"p" * 32


def test_consumer_groups_keep_their_names_under_the_topic_prefix() -> None:
    settings = OutboundSettings(env=Environment.test, topic_prefix="t1.")
    assert settings.outbound_config_consumer_group == "t1.gateway.outbound-config.v1"
    assert settings.outbound_dispatch_consumer_group == "t1.gateway.outbound-dispatch.v1"
    assert settings.open311_refs_consumer_group == "t1.gateway.open311-refs.v1"


def test_the_link_back_is_under_the_gateways_open311_base_path() -> None:
    settings = OutboundSettings(env=Environment.test, public_base_url="https://311.example.gov/")
    assert settings.open311_base_url == "https://311.example.gov/open311/v2"
