"""The one place that wires the adapter app: the configuration file, one back-end adapter per jurisdiction and the
api_keys its POSTs must carry. Secrets are resolved here, so a missing one stops the app at start.

The app has no consumers (no broker), so its bootstrap has no `start_consumers`; the running `Jurisdictions` gives
the skeleton its `readiness_checks()` and `close()`."""

from __future__ import annotations

from collections.abc import Mapping

from civicloop_runtime.secrets import resolve_secret

from civicloop_backend_adapters.adapters.csv_feed import CsvFeedAdapter
from civicloop_backend_adapters.adapters.rest_workorder import RestWorkOrderAdapter
from civicloop_backend_adapters.config import (
    AdapterAppConfig,
    CsvFeedSettings,
    RestWorkOrderSettings,
    load_config,
)
from civicloop_backend_adapters.domain.backend import BackendAdapter
from civicloop_backend_adapters.service_layer.jurisdictions import Jurisdictions
from civicloop_backend_adapters.settings import BackendAdapterSettings


def build_adapter(jurisdiction_id: str, settings: CsvFeedSettings | RestWorkOrderSettings) -> BackendAdapter:
    if isinstance(settings, CsvFeedSettings):
        return CsvFeedAdapter(jurisdiction_id, settings)
    return RestWorkOrderAdapter(jurisdiction_id, settings)


async def bootstrap(
    settings: BackendAdapterSettings,
    *,
    config: AdapterAppConfig | None = None,
    backends: Mapping[str, BackendAdapter] | None = None,
) -> Jurisdictions:
    """The running adapter app; `config` defaults to the settings' file, `backends` (tests) replace the adapters."""
    if config is None:
        if settings.adapters_config is None:
            raise ValueError("no adapters configuration: set CIVICLOOP_ADAPTERS_CONFIG or pass --config")
        config = load_config(settings.adapters_config)
    api_keys = {
        jid: resolve_secret(s.api_key_ref) if s.api_key_ref else None
        for jid, s in config.jurisdictions.items()
    }
    adapters = (
        dict(backends)
        if backends is not None
        else {jid: build_adapter(jid, s) for jid, s in config.jurisdictions.items()}
    )
    return Jurisdictions(
        adapters,
        api_keys=api_keys,
        window_days={jid: s.default_window_days for jid, s in config.jurisdictions.items()},
        base_path=config.base_path.rstrip("/"),
        snapshot_s=config.page_snapshot_s,
    )
