"""The settings bases: what a process without a database reads, and the vault pepper's rule with its two ways out
(a service that needs the pepper only for some work, and a command that seals nothing)."""

import pytest
from civicloop_runtime.settings import (
    DEV_PEPPER,
    Environment,
    ProcessSettings,
    ServiceSettings,
    VaultPepperSettings,
    sealing_nothing,
)
from pydantic import ValidationError


def test_a_process_without_a_database_reads_no_dsn_broker_or_pepper():
    fields = set(ProcessSettings.model_fields)
    assert {"env", "log_level", "max_body_bytes", "max_in_flight_requests", "request_deadline_s"} <= fields
    assert {"rate_limit_per_client", "rate_limit_trusted_proxies", "shutdown_grace_s"} <= fields
    assert not fields & {"pg_dsn", "kafka_bootstrap", "vault_pepper", "pool_max_size"}
    assert {"pg_dsn", "kafka_bootstrap"} <= set(ServiceSettings.model_fields)
    assert issubclass(ServiceSettings, ProcessSettings)


def test_the_pepper_is_required_in_production_and_the_dev_one_refused_there():
    with pytest.raises(ValidationError, match="VAULT_PEPPER is required"):
        VaultPepperSettings(env=Environment.production)
    with pytest.raises(ValidationError, match="development pepper"):
        VaultPepperSettings(env=Environment.production, vault_pepper=DEV_PEPPER)
    assert VaultPepperSettings(env=Environment.test).pepper == DEV_PEPPER.encode()


class SometimesSeals(VaultPepperSettings):
    seals: bool = False

    def pepper_needed(self) -> bool:
        return self.seals


def test_a_service_says_when_it_needs_the_pepper():
    assert SometimesSeals(env=Environment.production).vault_pepper is None
    with pytest.raises(ValidationError, match="VAULT_PEPPER is required"):
        SometimesSeals(env=Environment.production, seals=True)


def test_settings_read_for_a_command_that_seals_nothing_need_no_pepper_and_give_none():
    with sealing_nothing():
        settings = VaultPepperSettings(env=Environment.production)
    with pytest.raises(RuntimeError, match="seals nothing"):
        _ = settings.pepper
    with pytest.raises(ValidationError, match="development pepper"), sealing_nothing():
        VaultPepperSettings(env=Environment.production, vault_pepper=DEV_PEPPER)
    given = "p" * 32
    with sealing_nothing():
        assert VaultPepperSettings(env=Environment.production, vault_pepper=given).pepper == given.encode()
    with pytest.raises(ValidationError, match="VAULT_PEPPER is required"):
        VaultPepperSettings(env=Environment.production)  # outside the block, the rule again
