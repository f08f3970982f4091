"""The event-log and vault ports over the app's producer and resident-key vault.

The event log is the contract's `ProducerEventLog` (each publish bounded by `publish_timeout_s`).
"""

from __future__ import annotations

from civicloop_events import PersonalData, SealedPersonalData
from civicloop_events.outbox_kafka import ProducerEventLog as ProducerEventLog
from civicloop_runtime.vault import ResidentKeyVault

from civicloop_gateway.service_layer.submit_ports import Vault


class ResidentVault(Vault):
    def __init__(self, vault: ResidentKeyVault) -> None:
        self.vault = vault

    async def seal(self, data: PersonalData) -> SealedPersonalData:
        return await self.vault.seal(data)
