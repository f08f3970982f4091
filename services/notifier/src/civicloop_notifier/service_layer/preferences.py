"""Opt-out and opt-in per contact and channel: the rule API the inbound channels call (an SMS `STOP` opts the
number out of SMS, `START` opts it in again; an email's unsubscribe link opts the address out of email)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from civicloop_events.payloads import NotificationChannel

from civicloop_notifier.domain.opt_outs import contact_digest
from civicloop_notifier.domain.unsubscribe import read_unsubscribe_token
from civicloop_notifier.service_layer.ports import MessagesStore


class ContactPreferences:
    """`transaction()` yields a store on one transaction; the contact is digested at once and never kept."""

    def __init__(
        self, transaction: Callable[[], AbstractAsyncContextManager[MessagesStore]], pepper: bytes
    ) -> None:
        self._transaction = transaction
        self._pepper = pepper

    async def opt_out(self, channel: NotificationChannel, address: str) -> None:
        await self._set(channel, address, True)

    async def opt_in(self, channel: NotificationChannel, address: str) -> None:
        await self._set(channel, address, False)

    async def is_opted_out(self, channel: NotificationChannel, address: str) -> bool:
        digest = contact_digest(self._pepper, channel, address)
        async with self._transaction() as store:
            return channel in await store.opted_out({channel: digest})

    async def unsubscribe(self, token: str) -> bool:
        """An email's unsubscribe link followed: the contact it was signed for is opted out of that channel."""
        named = read_unsubscribe_token(self._pepper, token)
        if named is None:
            return False
        channel, digest = named
        async with self._transaction() as store:
            await store.set_opt_out(digest, channel, True)
        return True

    async def _set(self, channel: NotificationChannel, address: str, opted_out: bool) -> None:
        digest = contact_digest(self._pepper, channel, address)
        async with self._transaction() as store:
            await store.set_opt_out(digest, channel, opted_out)
