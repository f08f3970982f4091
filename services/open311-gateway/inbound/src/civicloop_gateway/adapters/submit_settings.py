"""Settings of the write side (environment variables prefixed `CIVICLOOP_`), beside the gateway's own.

* `CIVICLOOP_DEDUP_WINDOW` (default 24 h, ISO 8601 duration or seconds): how long the same partner posting the
  same normalised body is answered with the request its first POST made (PR-11). FixMyStreet retries failed sends
  for hours; two genuine reports with identical content, contact and FixMyStreet id within a day do not happen.
* `CIVICLOOP_DEFAULT_PHONE_REGION` (default US): the region a `phone` without a country code is read in; as intake.
"""

from __future__ import annotations

from datetime import timedelta

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SubmitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICLOOP_", extra="ignore")

    dedup_window: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="retries of the same POST within this window make no new request",
    )
    default_phone_region: str = Field(
        default="US", description="ISO 3166 region for numbers without +country"
    )

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        region = v.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{v!r} is not a region phonenumbers knows")
        return region
