from civicloop_channels.message import Channel, OutgoingMessage


def test_a_message_s_repr_names_neither_recipient_nor_text():
    message = OutgoingMessage("m-1", Channel.sms, "+12135550147", "Your request 7KQ4-MZT2 was received")
    shown = repr(message)
    assert "m-1" in shown and "sms" in shown
    assert "2135550147" not in shown and "7KQ4" not in shown
