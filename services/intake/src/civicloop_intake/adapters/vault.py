"""The vault port over `ResidentKeyVault` (per-resident keys in the `vault` schema)."""

from __future__ import annotations

from civicloop_events import PersonalData, SealedPersonalData
from civicloop_runtime.vault import ResidentKeyVault

from civicloop_intake.service_layer.ports import Vault


class PostgresVault(Vault):
    def __init__(self, vault: ResidentKeyVault) -> None:
        self._vault = vault

    async def seal(self, data: PersonalData) -> SealedPersonalData:
        return await self._vault.seal(data)

    async def unseal(self, sealed: SealedPersonalData) -> PersonalData:
        return await self._vault.unseal(sealed)
