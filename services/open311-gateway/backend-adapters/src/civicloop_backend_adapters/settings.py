"""The adapter app's process settings (environment variables prefixed `CIVICLOOP_`).

Only what the app needs: where its configuration file is, and how to log. It keeps no state, so it takes no
database, broker or vault settings; the back-ends and their secret refs are in the configuration file (`config.py`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackendAdapterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICLOOP_", extra="ignore")

    adapters_config: Path | None = Field(
        default=None, description="the adapters' JSON or YAML file (`--config` on the command line)"
    )
    log_level: str = "INFO"
