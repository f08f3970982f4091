"""Web push without a network: the payload, the topic, the subscription and what a push service's answer means."""

import json
import string

import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.web_push import (
    MAX_PLAINTEXT,
    WebPushSettings,
    parse_subscription,
    push_payload,
    push_topic,
    result_of_status,
)

SUBSCRIPTION = {"endpoint": "https://push.example.net/wpush/v2/abc", "keys": {"p256dh": "BPk", "auth": "q8s"}}


def _message(
    text: str = "Your request 7KQ4-MZT2 was received", subject: str | None = "CivicLoop"
) -> OutgoingMessage:
    return OutgoingMessage(
        "evt-1:res-1:push", Channel.push, json.dumps(SUBSCRIPTION), text, "es", subject=subject
    )


def test_the_payload_carries_the_message_id_language_title_and_text():
    assert json.loads(push_payload(_message())) == {
        "id": "evt-1:res-1:push",
        "lang": "es",
        "title": "CivicLoop",
        "body": "Your request 7KQ4-MZT2 was received",
    }


def test_a_message_without_subject_has_no_title():
    assert "title" not in json.loads(push_payload(_message(subject=None)))


def test_a_long_text_is_shortened_to_what_a_push_service_must_accept_and_says_so():
    payload = push_payload(_message(text="ñ" * 5000))
    body = json.loads(payload)["body"]
    assert len(payload) <= MAX_PLAINTEXT
    assert body.endswith("…") and set(body[:-1]) == {"ñ"}
    one_more = json.loads(payload) | {"body": "ñ" * len(body) + "…"}  # one character more than it kept
    assert len(json.dumps(one_more, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_PLAINTEXT


def test_a_text_that_fits_is_sent_whole():
    text = "ñ" * 1000
    assert json.loads(push_payload(_message(text=text)))["body"] == text


def test_the_topic_is_stable_per_message_short_and_url_safe():
    topic = push_topic("evt-1:res-1:push")
    assert topic == push_topic("evt-1:res-1:push")
    assert topic != push_topic("evt-2:res-1:push")
    assert len(topic) <= 32 and set(topic) <= set(string.ascii_letters + string.digits + "-_")


def test_a_browser_subscription_is_parsed_and_anything_else_is_not():
    assert parse_subscription(json.dumps({**SUBSCRIPTION, "expirationTime": None})) == SUBSCRIPTION
    for not_one in (
        "+12135550147",
        "[]",
        json.dumps({"endpoint": "ftp://x/y", "keys": SUBSCRIPTION["keys"]}),
        json.dumps({"endpoint": SUBSCRIPTION["endpoint"], "keys": {"p256dh": "BPk"}}),
        json.dumps({"endpoint": SUBSCRIPTION["endpoint"]}),
    ):
        assert parse_subscription(not_one) is None, not_one


@pytest.mark.parametrize("status", [200, 201, 202])
def test_a_taken_push_is_accepted(status):
    assert result_of_status(status, None).outcome is Outcome.accepted


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_refused(status):
    result = result_of_status(status, None)
    assert result.outcome is Outcome.refused and "gone" in (result.error or "")


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_a_push_the_service_will_never_take_is_refused(status):
    assert result_of_status(status, None).outcome is Outcome.refused


@pytest.mark.parametrize(
    ("status", "retry_after", "seconds"), [(429, "30", 30.0), (503, "5", 5.0), (500, None, None)]
)
def test_throttling_and_outages_fail_for_now_with_the_service_s_delay(status, retry_after, seconds):
    result = result_of_status(status, retry_after)
    assert result.outcome is Outcome.failed and result.retry_after_s == seconds


def test_a_retry_after_given_as_a_date_leaves_the_delay_to_the_notifier():
    assert result_of_status(429, "Wed, 21 Oct 2026 07:28:00 GMT").retry_after_s is None


def test_a_vapid_subject_that_is_no_contact_is_refused_at_start():
    with pytest.raises(ValueError, match="VAPID subject"):
        WebPushSettings("key", "311@county.example")
    assert WebPushSettings("key", "https://county.example/311").vapid_subject.startswith("https://")
