"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts, parsed, for tests to read.

It stands in for a county's mail relay: services send to it through their real SMTP client (aiosmtplib).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from civicloop_testing.processes import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Collect:
    def __init__(self, inbox: list[Received]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.inbox.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpInbox:
    """aiosmtpd in a thread of its own on a free port; `received` in the order they arrived."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.port = free_port()
        self._controller = Controller(_Collect(self.received), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def with_header(self, name: str, value: str) -> list[Received]:
        return [r for r in self.received if r.message[name] == value]

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@contextmanager
def smtp_inbox() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox()
    inbox.start()
    try:
        yield inbox
    finally:
        inbox.stop()
