"""The contract every `ChannelSender` keeps, as one suite each sender's tests join (eventsourcing's style): a subclass
named `Test...` gives the `sender` and `address` fixtures and says how to make its provider refuse or fail the next
message and whether the far end got one.

    class TestTwilioSmsContract(ChannelSenderContract):
        @pytest.fixture
        def sender(self, twilio_server): ...
        @pytest.fixture
        def address(self): return "+12025550143"
        async def arrange_refusal(self, sender): ...   # e.g. the local server answers error 21211 next
        async def arrange_failure(self, sender): ...   # e.g. the local server answers 500 next
        async def received(self, sender, message): ... # what the local server kept
"""

from __future__ import annotations

from typing import Any

import pytest
from civicloop_channels.message import ChannelSender, Outcome, OutgoingMessage, SendResult

TEXT = "Your report 1ABC-2DEF was acknowledged: a team is on it."


class ChannelSenderContract:
    """Subclass it as `Test<Sender>Contract` and give the fixtures and the three hooks below."""

    @pytest.fixture
    def sender(self) -> ChannelSender:
        raise NotImplementedError

    @pytest.fixture
    def address(self) -> str:
        raise NotImplementedError

    async def arrange_refusal(self, sender: Any) -> None:
        """The provider refuses the next message for good (an invalid number, an unsubscribed recipient)."""
        raise NotImplementedError

    async def arrange_failure(self, sender: Any) -> None:
        """The provider fails the next message for now (a 5xx, a timeout)."""
        raise NotImplementedError

    async def received(self, sender: Any, message: OutgoingMessage) -> bool:
        """Whether the far end holds `message` (what the local provider server kept)."""
        raise NotImplementedError

    def message(self, sender: ChannelSender, address: str, key: str = "contract-1") -> OutgoingMessage:
        return OutgoingMessage(
            message_id=f"5b0b6c4e-3c1e-5d43-9a51-{key.encode().hex()[:12].ljust(12, '0')}",
            channel=sender.channel,
            to=address,
            text=TEXT,
            language="en",
            subject="Your report 1ABC-2DEF",
        )

    @staticmethod
    def _says_nothing_personal(result: SendResult, message: OutgoingMessage) -> None:
        told = " ".join(str(v) for v in (result.provider, result.provider_id, result.error) if v)
        assert message.to not in told and message.text not in told

    async def test_an_accepted_message_reaches_the_provider_with_its_id(
        self, sender: ChannelSender, address: str
    ) -> None:
        message = self.message(sender, address)
        result = await sender.send(message)
        assert result.outcome is Outcome.accepted
        assert result.provider and result.provider_id
        assert await self.received(sender, message)
        self._says_nothing_personal(result, message)

    async def test_a_refusal_is_refused_and_names_no_recipient(
        self, sender: ChannelSender, address: str
    ) -> None:
        await self.arrange_refusal(sender)
        message = self.message(sender, address, "refused")
        result = await sender.send(message)
        assert result.outcome is Outcome.refused and result.error
        self._says_nothing_personal(result, message)

    async def test_a_failure_is_failed_and_the_same_message_goes_after(
        self, sender: ChannelSender, address: str
    ) -> None:
        await self.arrange_failure(sender)
        message = self.message(sender, address, "failed")
        first = await sender.send(message)
        assert first.outcome is Outcome.failed
        self._says_nothing_personal(first, message)
        second = await sender.send(message)
        assert second.outcome is Outcome.accepted and await self.received(sender, message)

    def test_a_message_shows_neither_recipient_nor_text_in_its_repr(
        self, sender: ChannelSender, address: str
    ) -> None:
        message = self.message(sender, address)
        assert address not in repr(message) and TEXT not in repr(message)
