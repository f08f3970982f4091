"""Delivery receipts (Twilio's status callbacks): each is kept as it came, then applied to the attempt it names; an
accepted text that never reached the resident sends the message on to their next channel (`domain/delivery.py`).

A callback can arrive before the attempt it names has committed (the provider answers the send, then calls back at
once): a receipt whose attempt is not there yet is applied by the next pass (`run`), so none is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from datetime import datetime, timedelta
from typing import Protocol

log = logging.getLogger("civicloop.notifier.receipts")
KEEP_UNMATCHED = timedelta(days=1)


class ReceiptsStore(Protocol):
    async def record_receipt(self, provider_message_id: str, state: str, error_code: int | None) -> None: ...

    async def apply_receipts(self) -> int: ...

    async def forget_stale_receipts(self, older_than: datetime) -> None: ...


class DeliveryReceipts:
    def __init__(
        self,
        *,
        transaction: Callable[[], AbstractAsyncContextManager[ReceiptsStore]],
        wake_sender: Callable[[], None],
        clock: Callable[[], datetime],
        every_s: float,
    ) -> None:
        self._transaction = transaction
        self._wake_sender = wake_sender
        self._clock = clock
        self._every_s = every_s
        self._stop = asyncio.Event()

    async def received(self, provider_message_id: str, state: str, error_code: int | None) -> None:
        """Keep the receipt (a repeat is the same row) and apply what can be applied, in one transaction."""
        async with self._transaction() as store:
            await store.record_receipt(provider_message_id, state, error_code)
            rerouted = await store.apply_receipts()
        if rerouted:
            self._wake_sender()

    async def apply_pending(self) -> int:
        async with self._transaction() as store:
            rerouted = await store.apply_receipts()
            await store.forget_stale_receipts(self._clock() - KEEP_UNMATCHED)
        if rerouted:
            self._wake_sender()
        return rerouted

    async def run(self) -> None:
        """Apply receipts that came early, until `stop`."""
        while not self._stop.is_set():
            try:
                await self.apply_pending()
            except Exception as exc:  # the database away for a while: the receipts wait in their table
                log.warning("applying delivery receipts failed", extra={"error": type(exc).__name__})
            with suppress(TimeoutError):  # the next pass is due
                await asyncio.wait_for(self._stop.wait(), self._every_s)

    def stop(self) -> None:
        self._stop.set()
