"""The adapter app's process settings (environment variables prefixed `CIVICLOOP_`).

Only what the app needs: where its configuration file is, and what every process reads
(`civicloop_runtime.settings.ProcessSettings`: environment, log level, request body limit). It keeps no state, so it
takes no database, broker or vault settings (`ServiceSettings` would ask for them); the back-ends and their secret
refs are in the configuration file (`config.py`).
"""

from __future__ import annotations

from pathlib import Path

from civicloop_runtime.settings import ProcessSettings
from pydantic import Field


class BackendAdapterSettings(ProcessSettings):
    adapters_config: Path | None = Field(
        default=None, description="the adapters' JSON or YAML file (`--config` on the command line)"
    )
