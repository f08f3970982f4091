"""The govDelivery sender (httpx) against an account's API on 127.0.0.1 that keeps bulletins per topic."""

import time

import httpx
import pytest
from civicloop_channels.govdelivery import GovDeliverySender, GovDeliverySettings, TopicScheme, topics_to
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_testing.govdelivery_server import GovDeliveryAccount, govdelivery_account

SCHEME = TopicScheme("MDPGC")
POTHOLES, DISTRICT_5, DISTRICT_7 = (
    SCHEME.for_category("pothole"),
    SCHEME.for_district("5"),
    SCHEME.for_district("7"),
)


@pytest.fixture(scope="module")
def account():
    with govdelivery_account("MDPGC", "api-311@county.example", "s3cret-api") as running:
        running.add_topics(POTHOLES, DISTRICT_5, DISTRICT_7)
        yield running


def _settings(account: GovDeliveryAccount, **changes) -> GovDeliverySettings:
    values = {
        "base_url": account.base_url,
        "account_code": "MDPGC",
        "username": "api-311@county.example",
        "password": "s3cret-api",
        "from_address_id": "311",
        "timeout_s": 2.0,
    } | changes
    return GovDeliverySettings(**values)


@pytest.fixture
async def sender(account):
    sender = GovDeliverySender(_settings(account))
    yield sender
    await sender.aclose()


def _update(topics: tuple[str, ...], message_id: str = "evt-1:feed:govdelivery") -> OutgoingMessage:
    return OutgoingMessage(
        message_id,
        Channel.govdelivery,
        topics_to(topics),
        "Pothole at Main St & 3rd: repaired",
        subject="Request 7KQ4-MZT2 closed",
    )


async def test_an_update_reaches_the_subscribers_of_its_category_and_district_once_each(account, sender):
    account.subscribe("pothole-watcher", POTHOLES)
    account.subscribe("district-5-resident", DISTRICT_5)
    account.subscribe("both", POTHOLES, DISTRICT_5)
    account.subscribe("district-7-resident", DISTRICT_7)
    result = await sender.send(_update(SCHEME.for_update("pothole", "5")))
    assert result.outcome is Outcome.accepted and result.provider == "govdelivery"
    [bulletin] = [b for b in account.bulletins if b.id == result.provider_id]
    assert bulletin.subject == "Request 7KQ4-MZT2 closed"
    assert bulletin.body == "<p>Pothole at Main St &amp; 3rd: repaired</p>"
    assert bulletin.topics == (POTHOLES, DISTRICT_5)
    assert bulletin.from_address_id == "311"
    assert bulletin.flags["open_tracking"] == bulletin.flags["click_tracking"] == "false"
    assert bulletin in account.bulletins_for(POTHOLES) and bulletin in account.bulletins_for(DISTRICT_5)
    assert bulletin not in account.bulletins_for(DISTRICT_7)
    for subscriber in ("pothole-watcher", "district-5-resident", "both"):
        assert account.inbox(subscriber).count(bulletin) == 1, subscriber
    assert bulletin not in account.inbox("district-7-resident")


async def test_a_topic_the_account_does_not_have_is_refused_and_nothing_is_sent(account, sender):
    before = len(account.bulletins)
    result = await sender.send(_update((SCHEME.for_category("graffiti"),)))
    assert result.outcome is Outcome.refused and "422" in (result.error or "")
    assert len(account.bulletins) == before


async def test_a_message_without_topics_is_refused_without_calling_the_api(account, sender):
    before = account.attempts
    result = await sender.send(_update(()))
    assert result.outcome is Outcome.refused and account.attempts == before


async def test_wrong_credentials_fail_for_now_and_say_nothing_of_the_password(account):
    wrong = GovDeliverySender(_settings(account, password="not-it"))
    try:
        result = await wrong.send(_update((POTHOLES,)))
    finally:
        await wrong.aclose()
    assert result.outcome is Outcome.failed and "401" in (result.error or "")
    assert "not-it" not in repr(result) and "s3cret" not in repr(result)


async def test_another_account_is_refused(account):
    elsewhere = GovDeliverySender(_settings(account, account_code="VADC"))
    try:
        result = await elsewhere.send(_update((POTHOLES,)))
    finally:
        await elsewhere.aclose()
    assert result.outcome is Outcome.refused and "404" in (result.error or "")


async def test_throttling_and_an_outage_fail_for_now_then_the_retry_goes(account, sender):
    before = len(account.bulletins)
    account.answer_with(429, retry_after="30")
    account.answer_with(503)
    throttled = await sender.send(_update((POTHOLES,)))
    down = await sender.send(_update((POTHOLES,)))
    assert throttled.outcome is Outcome.failed and throttled.retry_after_s == 30.0
    assert down.outcome is Outcome.failed and "503" in (down.error or "")
    assert len(account.bulletins) == before
    assert (await sender.send(_update((POTHOLES,)))).outcome is Outcome.accepted
    assert len(account.bulletins) == before + 1


async def test_a_hanging_api_fails_at_the_sender_s_timeout(account):
    impatient = GovDeliverySender(_settings(account, timeout_s=0.3))
    account.hang_for(1.0)
    try:
        started = time.monotonic()
        result = await impatient.send(_update((POTHOLES,)))
        waited = time.monotonic() - started
    finally:
        account.hang_for(0)
        await impatient.aclose()
    assert result.outcome is Outcome.failed and "in time" in (result.error or "")
    assert waited < 0.9


async def test_an_unreachable_api_fails_for_now(account):
    nowhere = GovDeliverySender(_settings(account, base_url="http://127.0.0.1:9"))
    try:
        result = await nowhere.send(_update((POTHOLES,)))
    finally:
        await nowhere.aclose()
    assert result.outcome is Outcome.failed and "unreachable" in (result.error or "")


# -- the account's API checks what the real one checks ---------------------------------------------------------


def test_the_api_turns_away_a_bulletin_without_basic_auth_or_with_a_broken_body(account: GovDeliveryAccount):
    url = f"{account.base_url}/api/account/MDPGC/bulletins/send_now.xml"
    headers = {"Content-Type": "application/xml"}
    body = f"<bulletin><subject>s</subject><body>b</body><topics><topic><code>{POTHOLES}</code></topic></topics></bulletin>"
    assert httpx.post(url, content=body, headers=headers).status_code == 401
    auth = ("api-311@county.example", "s3cret-api")
    assert httpx.post(url, content="<bulletin>", headers=headers, auth=auth).status_code == 400
    no_subject = body.replace("<subject>s</subject>", "")
    assert httpx.post(url, content=no_subject, headers=headers, auth=auth).status_code == 422
    taken = httpx.post(url, content=body, headers=headers, auth=auth)
    assert taken.status_code == 200 and "<to-param>" in taken.text
