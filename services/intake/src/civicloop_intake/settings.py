"""Intake's settings (environment variables prefixed `CIVICLOOP_`).

The vault pepper keys the digests by which a resident is found again; it is a secret and has no default in
production. Rule: `CIVICLOOP_VAULT_PEPPER` (at least 16 bytes) is required unless `CIVICLOOP_ENV` is `dev` or
`test`, where a fixed, public development pepper is used when none is given. `CIVICLOOP_ENV` defaults to
`production`, so a deployment that forgets to set anything refuses to start rather than run with a known secret.
Changing the pepper of a live deployment makes every known resident a new one: do it only with a re-index.
"""

from __future__ import annotations

import enum

import phonenumbers
from civicloop_runtime.settings import ServiceSettings
from pydantic import Field, SecretStr, field_validator, model_validator

DEV_PEPPER = "civicloop-development-pepper-not-secret"


class Environment(str, enum.Enum):
    production = "production"
    staging = "staging"
    dev = "dev"
    test = "test"


class IntakeSettings(ServiceSettings):
    env: Environment = Environment.production
    default_jurisdiction: str = Field(default="demo", min_length=1, max_length=64)
    default_phone_region: str = Field(
        default="US", description="ISO 3166 region for numbers without +country"
    )
    vault_pepper: SecretStr | None = None
    read_your_writes_timeout_s: float = Field(
        default=2.0, gt=0, le=10, description="how long a track waits for a just-submitted request"
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="wait for the broker's acknowledgement"
    )
    kafka_connect_timeout_s: float = Field(
        default=10.0, gt=0, description="first connection attempt at start-up"
    )
    sweep_pending_after_s: float = Field(
        default=60.0, gt=0, description="publish a submission, correction or merge left pending this long"
    )
    sweep_every_s: float = Field(default=15.0, gt=0, description="how often to look for such rows")

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        region = v.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{v!r} is not a region phonenumbers knows")
        return region

    @model_validator(mode="after")
    def _pepper_rule(self) -> IntakeSettings:
        relaxed = self.env in (Environment.dev, Environment.test)
        given = self.vault_pepper.get_secret_value() if self.vault_pepper else None
        if given is None and not relaxed:
            raise ValueError(
                "CIVICLOOP_VAULT_PEPPER is required (at least 16 bytes) unless CIVICLOOP_ENV is dev or test"
            )
        if given is not None and len(given.encode()) < 16:
            raise ValueError("CIVICLOOP_VAULT_PEPPER must be at least 16 bytes")
        if given == DEV_PEPPER and not relaxed:
            raise ValueError("the public development pepper cannot be used outside dev and test")
        return self

    @property
    def pepper(self) -> bytes:
        return (self.vault_pepper.get_secret_value() if self.vault_pepper else DEV_PEPPER).encode()
