"""The ports a resident's conversation reaches beyond the notifier's own tables."""

from __future__ import annotations

from typing import Protocol

from civicloop_events.payloads import NotificationChannel


class TextReportingPort(Protocol):
    """Reporting by text message: a text that is about no open request may start (or continue) a report.

    `sender` is E.164 as `civicloop_channels.sms_webhooks.inbound_text` gives it; `handle` returns the reply text."""

    async def in_progress(self, sender: str, channel: NotificationChannel) -> bool: ...

    async def handle(self, sender: str, channel: NotificationChannel, text: str, language: str) -> str: ...
