"""intake's outboxes over HTTP (`IntakeOutboxes`): the age of its oldest pending row from its `/metrics`, and its
cron route that publishes them now, called with the cron token."""

from __future__ import annotations

import httpx
from civicloop_runtime.cron import CRON_TOKEN_HEADER
from civicloop_runtime.secrets import resolve_secret
from prometheus_client.parser import text_string_to_metric_families

from civicloop_selfheal.service_layer.ports import IntakeOutboxes

OLDEST_PENDING = "civicloop_outbox_oldest_pending_seconds"
SWEEP_PATH = "/api/cron/sweep-pending"


class HttpIntakeOutboxes(IntakeOutboxes):
    def __init__(self, client: httpx.AsyncClient, *, cron_token_ref: str) -> None:
        self.client = client  # its base URL is intake's
        self.cron_token_ref = cron_token_ref

    async def oldest_pending_s(self) -> float | None:
        response = await self.client.get("/metrics")
        response.raise_for_status()
        ages = [
            sample.value
            for family in text_string_to_metric_families(response.text)
            if family.name == OLDEST_PENDING
            for sample in family.samples
        ]
        return max(ages) if ages else None

    async def sweep_now(self) -> int:
        response = await self.client.post(
            SWEEP_PATH, headers={CRON_TOKEN_HEADER: resolve_secret(self.cron_token_ref)}
        )
        response.raise_for_status()
        return int(response.json()["published"])
