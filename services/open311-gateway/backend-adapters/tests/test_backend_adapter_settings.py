"""The adapter app's settings ask for nothing it does not use: no database, broker or vault pepper."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from backend_adapter_configs import CSV_SETTINGS
from civicloop_backend_adapters.entrypoints.http import create_app
from civicloop_backend_adapters.settings import BackendAdapterSettings
from civicloop_runtime.settings import ProcessSettings


def test_production_needs_only_the_configuration_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("CIVICLOOP_VAULT_PEPPER", "CIVICLOOP_PG_DSN", "CIVICLOOP_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIVICLOOP_ENV", "production")
    config = tmp_path / "adapters.json"
    monkeypatch.setenv("CIVICLOOP_ADAPTERS_CONFIG", str(config))
    assert BackendAdapterSettings().adapters_config == config
    # The runtime's process base (environment, log level, body limit, load shedding, rate limits, shutdown grace)
    # and the file: no DSN, broker or pepper.
    assert not set(BackendAdapterSettings.model_fields) & {"pg_dsn", "kafka_bootstrap", "vault_pepper"}
    assert "shutdown_grace_s" in BackendAdapterSettings.model_fields
    assert set(BackendAdapterSettings.model_fields) - set(ProcessSettings.model_fields) == {"adapters_config"}


def test_the_app_is_ready_once_started_and_serves_ops_endpoints(tmp_path: Path) -> None:
    import json

    config = tmp_path / "adapters.json"
    config.write_text(
        json.dumps({"jurisdictions": {"parks.example": {**CSV_SETTINGS, "directory": str(tmp_path)}}})
    )
    app = create_app(BackendAdapterSettings(adapters_config=config))

    async def probe() -> tuple[int, int, int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://adapters") as client:
                health, ready, services = (
                    await client.get("/healthz"),
                    await client.get("/readyz"),
                    await client.get("/open311/v2/services.json"),
                )
        return health.status_code, ready.status_code, services.status_code

    assert asyncio.run(probe()) == (200, 200, 200)
