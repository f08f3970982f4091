"""The `fake` provider keeps the contract every channel sender keeps (`civicloop_testing.channel_contract`)."""

import pytest
from civicloop_channels.message import Channel, Outcome
from civicloop_notifier.adapters.recording_sender import RecordingChannelSender
from civicloop_testing.channel_contract import ChannelSenderContract


class TestRecordingSenderContract(ChannelSenderContract):
    @pytest.fixture
    def sender(self):
        return RecordingChannelSender(Channel.sms)

    @pytest.fixture
    def address(self):
        return "+12025550143"

    async def arrange_refusal(self, sender):
        sender.answer_next(Outcome.refused)

    async def arrange_failure(self, sender):
        sender.answer_next(Outcome.failed)

    async def received(self, sender, message):
        return any(m.message_id == message.message_id and m.text == message.text for m in sender.sent)
