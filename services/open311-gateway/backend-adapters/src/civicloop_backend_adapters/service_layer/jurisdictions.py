"""The jurisdictions an adapter app serves, each with its back-end adapter and the api_key its POSTs must carry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from civicloop_open311.errors import Open311Error

from civicloop_backend_adapters.domain.backend import BackendAdapter
from civicloop_backend_adapters.service_layer.snapshots import Snapshots


class Jurisdictions:
    """The running adapter app: one adapter per `jurisdiction_id`; `close()` releases the back-ends' clients."""

    def __init__(
        self,
        adapters: Mapping[str, BackendAdapter],
        *,
        api_keys: Mapping[str, str | None],
        window_days: Mapping[str, int],
        base_path: str,
        snapshot_s: float = 60.0,
    ) -> None:
        self.adapters = dict(adapters)
        self.snapshots = Snapshots(snapshot_s)
        self.api_keys = dict(api_keys)
        self._window_days = dict(window_days)
        self.base_path = base_path

    def pick(self, jurisdiction_id: str | None) -> tuple[str, BackendAdapter]:
        if not jurisdiction_id:
            if len(self.adapters) == 1:
                return next(iter(self.adapters.items()))
            raise Open311Error(
                400, 400, "jurisdiction_id is required: this endpoint serves several jurisdictions."
            )
        adapter = self.adapters.get(jurisdiction_id)
        if adapter is None:
            raise Open311Error(404, 404, f"jurisdiction_id not found: {jurisdiction_id}")
        return jurisdiction_id, adapter

    def window_days(self, jurisdiction_id: str) -> int:
        return self._window_days[jurisdiction_id]

    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        """Stateless: ready once bootstrap has built the adapters (a missing secret stops the start instead)."""

        async def started() -> bool:
            return True

        return {"started": started}

    async def close(self) -> None:
        for adapter in self.adapters.values():
            await adapter.close()
