"""The `fake` provider: a `ChannelSender` that keeps what it was given instead of reaching anyone, answering what
it is told to (accepted by default). Selected by configuration (`CIVICLOOP_NOTIFIER_PROVIDERS`) for tests and
local runs; what it keeps stays in the process's memory only."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque

from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult


class RecordingChannelSender:
    provider = "fake"

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.sent: list[OutgoingMessage] = []
        self.answers: deque[Outcome] = deque()
        self.hang_s: float = 0.0
        self._ids = itertools.count(1)

    def answer_next(self, *outcomes: Outcome) -> None:
        """The outcomes of the next sends, in order; accepted after them."""
        self.answers.extend(outcomes)

    async def send(self, message: OutgoingMessage) -> SendResult:
        if self.hang_s:
            await asyncio.sleep(self.hang_s)  # a provider that hangs: the caller's bound ends it
        outcome = self.answers.popleft() if self.answers else Outcome.accepted
        if outcome is Outcome.accepted:
            self.sent.append(message)
            return SendResult(outcome, provider=self.provider, provider_id=f"fake-{next(self._ids)}")
        return SendResult(outcome, provider=self.provider, error=f"fake-{outcome.value}")
