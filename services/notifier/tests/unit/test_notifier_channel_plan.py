from civicloop_events.payloads import Channel, NotificationChannel
from civicloop_notifier.domain.channels import channel_plan, next_channel, reachable_channels

SMS, EMAIL, WHATSAPP = NotificationChannel.sms, NotificationChannel.email, NotificationChannel.whatsapp
BOTH = reachable_channels(phone="+12025550143", email="ana@example.org")


def test_the_preferred_channel_comes_first_then_the_fallback_order():
    assert channel_plan(Channel.whatsapp, reachable=BOTH) == [WHATSAPP, SMS, EMAIL]
    assert channel_plan(Channel.email, reachable=BOTH) == [EMAIL, SMS, WHATSAPP]


def test_a_channel_the_contact_cannot_reach_is_skipped():
    assert channel_plan(Channel.sms, reachable=reachable_channels(phone=None, email="a@b.org")) == [EMAIL]


def test_an_opted_out_channel_is_skipped():
    assert channel_plan(Channel.sms, reachable=BOTH, opted_out={SMS}) == [EMAIL, WHATSAPP]


def test_a_resident_who_chose_none_hears_nothing():
    assert channel_plan(Channel.none, reachable=BOTH) == []


def test_the_fallback_order_is_configuration():
    assert channel_plan(Channel.sms, reachable=BOTH, fallback_order=(EMAIL,)) == [SMS, EMAIL]


def test_a_refusal_moves_on_to_the_next_channel_until_none_is_left():
    plan = [SMS, EMAIL]
    assert next_channel(plan, tried=set()) is SMS
    assert next_channel(plan, tried={SMS}) is EMAIL
    assert next_channel(plan, tried={SMS, EMAIL}) is None
