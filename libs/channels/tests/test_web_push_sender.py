"""The web push sender through pywebpush against a push service on 127.0.0.1 that checks VAPID and decrypts."""

import base64
import json
import time

import httpx
import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.web_push import WebPushSender, WebPushSettings
from civicloop_testing.push_service import PushService, push_service
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TEXT = "Su solicitud 7KQ4-MZT2 fue recibida"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _vapid_key() -> tuple[str, bytes]:
    """A county's VAPID key as configured (32 raw bytes, base64url) and its public point (what browsers get)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(key.private_numbers().private_value.to_bytes(32, "big")), public


VAPID_PRIVATE, VAPID_PUBLIC = _vapid_key()


@pytest.fixture(scope="module")
def service():
    with push_service() as running:
        yield running


@pytest.fixture
async def sender():
    sender = WebPushSender(
        WebPushSettings(VAPID_PRIVATE, "mailto:311@county.example", ttl_s=3600, timeout_s=2.0)
    )
    yield sender
    await sender.aclose()


def _message(subscription: dict, message_id: str = "evt-1:res-1:push") -> OutgoingMessage:
    return OutgoingMessage(
        message_id, Channel.push, json.dumps(subscription), TEXT, "es", subject="CivicLoop"
    )


def _says_nothing_personal(result, subscription: dict) -> None:
    shown = f"{result!r} {result.error} {result.provider_id}"
    assert subscription["endpoint"] not in shown and subscription["keys"]["auth"] not in shown
    assert "7KQ4" not in shown


async def test_a_push_arrives_decrypted_signed_by_the_county_and_named_by_the_push_service(service, sender):
    subscription = service.subscribe(VAPID_PUBLIC)
    result = await sender.send(_message(subscription))
    assert result.outcome is Outcome.accepted and result.provider == "webpush"
    [pushed] = service.received(subscription)
    assert pushed.json == {"id": "evt-1:res-1:push", "lang": "es", "title": "CivicLoop", "body": TEXT}
    assert result.provider_id == pushed.message_id
    assert pushed.vapid_claims["sub"] == "mailto:311@county.example"
    assert pushed.vapid_claims["aud"] == service.base_url
    assert pushed.ttl == 3600 and pushed.urgency == "normal"
    _says_nothing_personal(result, subscription)


async def test_the_same_message_sent_again_replaces_the_one_waiting_instead_of_arriving_twice(
    service, sender
):
    subscription = service.subscribe(VAPID_PUBLIC)
    first = await sender.send(_message(subscription, "evt-2:res-1:push"))
    again = await sender.send(_message(subscription, "evt-2:res-1:push"))
    other = await sender.send(_message(subscription, "evt-3:res-1:push"))
    assert {first.outcome, again.outcome, other.outcome} == {Outcome.accepted}
    assert [p.json["id"] for p in service.received(subscription)] == ["evt-2:res-1:push", "evt-3:res-1:push"]


async def test_an_unsubscribed_browser_is_refused(service, sender):
    subscription = service.subscribe(VAPID_PUBLIC)
    service.unsubscribe(subscription)
    result = await sender.send(_message(subscription))
    assert result.outcome is Outcome.refused and "410" in (result.error or "")
    assert service.received(subscription) == []
    _says_nothing_personal(result, subscription)


async def test_an_endpoint_the_push_service_does_not_know_is_refused(service, sender):
    subscription = service.subscribe(VAPID_PUBLIC)
    unknown = {**subscription, "endpoint": f"{service.base_url}/push/never-made"}
    result = await sender.send(_message(unknown))
    assert result.outcome is Outcome.refused and "404" in (result.error or "")


async def test_a_subscription_made_for_another_county_s_key_is_refused(service, sender):
    _, other_public = _vapid_key()
    subscription = service.subscribe(other_public)
    result = await sender.send(_message(subscription))
    assert result.outcome is Outcome.refused and "403" in (result.error or "")
    assert service.received(subscription) == []


async def test_throttling_fails_for_now_with_the_service_s_delay_then_the_retry_goes(service, sender):
    subscription = service.subscribe(VAPID_PUBLIC)
    service.answer_with(429, retry_after="17")
    throttled = await sender.send(_message(subscription))
    assert throttled.outcome is Outcome.failed and throttled.retry_after_s == 17.0
    assert service.received(subscription) == []
    retried = await sender.send(_message(subscription))
    assert retried.outcome is Outcome.accepted and len(service.received(subscription)) == 1


async def test_an_outage_fails_for_now(service, sender):
    subscription = service.subscribe(VAPID_PUBLIC)
    service.answer_with(503, times=2)
    results = [await sender.send(_message(subscription)) for _ in range(2)]
    assert [r.outcome for r in results] == [Outcome.failed, Outcome.failed]
    assert all("503" in (r.error or "") for r in results)
    assert (await sender.send(_message(subscription))).outcome is Outcome.accepted


async def test_a_hanging_push_service_fails_at_the_sender_s_timeout(service):
    subscription = service.subscribe(VAPID_PUBLIC)
    impatient = WebPushSender(WebPushSettings(VAPID_PRIVATE, "mailto:311@county.example", timeout_s=0.3))
    service.hang_for(1.0)
    try:
        started = time.monotonic()
        result = await impatient.send(_message(subscription))
        waited = time.monotonic() - started
    finally:
        service.hang_for(0)
        await impatient.aclose()
    assert result.outcome is Outcome.failed and "in time" in (result.error or "")
    assert waited < 0.9
    _says_nothing_personal(result, subscription)


async def test_what_is_not_a_subscription_is_refused_without_reaching_any_service(service, sender):
    before = service.attempts
    result = await sender.send(OutgoingMessage("m-1", Channel.push, "+12135550147", TEXT))
    broken_keys = await sender.send(
        OutgoingMessage(
            "m-2",
            Channel.push,
            json.dumps({**service.subscribe(), "keys": {"p256dh": "AA", "auth": "x"}}),
            TEXT,
        )
    )
    assert result.outcome is Outcome.refused and broken_keys.outcome is Outcome.refused
    assert service.attempts == before
    assert "2135550147" not in f"{result!r}"


# -- the push service checks what a real one checks (so a sender that signs or encrypts wrongly cannot pass) -------


def test_the_push_service_turns_away_an_unsigned_push(service: PushService):
    subscription = service.subscribe()
    answer = httpx.post(
        subscription["endpoint"], content=b"x" * 100, headers={"TTL": "60", "Content-Encoding": "aes128gcm"}
    )
    assert answer.status_code == 401 and service.received(subscription) == []


def test_the_push_service_turns_away_a_push_signed_for_another_origin(service: PushService):
    from py_vapid import Vapid

    vapid = Vapid.from_string(private_key=VAPID_PRIVATE)
    headers = vapid.sign(
        {"sub": "mailto:311@county.example", "aud": "https://push.example.net", "exp": int(time.time()) + 600}
    )
    subscription = service.subscribe()
    answer = httpx.post(
        subscription["endpoint"],
        content=b"x" * 100,
        headers={**headers, "TTL": "60", "Content-Encoding": "aes128gcm"},
    )
    assert answer.status_code == 401 and service.received(subscription) == []


def test_the_push_service_turns_away_a_payload_it_cannot_decrypt(service: PushService):
    from py_vapid import Vapid

    vapid = Vapid.from_string(private_key=VAPID_PRIVATE)
    headers = vapid.sign(
        {"sub": "mailto:311@county.example", "aud": service.base_url, "exp": int(time.time()) + 600}
    )
    subscription = service.subscribe()
    answer = httpx.post(
        subscription["endpoint"],
        content=b"\x00" * 120,
        headers={**headers, "TTL": "60", "Content-Encoding": "aes128gcm"},
    )
    assert answer.status_code == 400 and service.received(subscription) == []


def test_the_push_service_turns_away_a_vapid_token_living_more_than_a_day(service: PushService):
    from py_vapid import Vapid

    vapid = Vapid.from_string(private_key=VAPID_PRIVATE)
    claims = {
        "sub": "mailto:311@county.example",
        "aud": service.base_url,
        "exp": int(time.time()) + 2 * 24 * 3600,
    }
    subscription = service.subscribe()
    answer = httpx.post(
        subscription["endpoint"],
        content=b"\x00" * 120,
        headers={**vapid.sign(claims), "TTL": "60", "Content-Encoding": "aes128gcm"},
    )
    assert answer.status_code == 401 and "24 hours" in answer.text
