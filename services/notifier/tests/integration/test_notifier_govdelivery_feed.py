"""The govDelivery feed on the real broker and database, through the real `GovDeliverySender` to a local server
speaking govDelivery's API: public updates as bulletins to the category's and the district's topics, exactly once
across a restart and a replay; an outage delays a bulletin and loses or duplicates nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    AreaRef,
    CommentAdded,
    LocationMethod,
    LocationResolved,
    PublicPlace,
    StatusChanged,
)
from civicloop_testing.govdelivery_server import GovDeliveryAccount, govdelivery_account
from civicloop_testing.polling import eventually
from notifier_harness import NAME, Harness, agent, new_number, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ACCOUNT, USER, PASSWORD = "DEMO", "api@demo.civicloop.example", "feed-test-password"
CATEGORY, DISTRICT = "DEMO_311_CAT_POTHOLE", "DEMO_311_DIST_DISTRICT_4"
GEO = Actor(kind=ActorKind.system, id="geo")


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[GovDeliveryAccount]:
    monkeypatch.setenv("CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD", PASSWORD)
    with govdelivery_account(ACCOUNT, USER, PASSWORD) as started:
        started.add_topics(CATEGORY, DISTRICT)
        yield started


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, account) -> Harness:
    settings = settings_for(
        notifier_dsn,
        fresh_topics,
        kafka_bootstrap,
        govdelivery_base_url=account.base_url,
        govdelivery_account_code=ACCOUNT,
        govdelivery_username=USER,
        notifier_send_timeout_s=0.5,
    )
    return Harness(settings, fresh_topics, kafka_bootstrap, vault)


def placed(number: str) -> Event[Any]:
    payload = LocationResolved(
        lat=38.9012,
        long=-77.0301,
        address="2117 Oak St",
        method=LocationMethod.submitted,
        provider="reporter",
        confidence=1,
        service_areas=[
            AreaRef(area_id="ward-2", kind="ward", name="Ward 2", version=1),
            AreaRef(area_id="district-4", kind="council_district", name="District 4", version=1),
        ],
        inside_jurisdiction=True,
        public=PublicPlace(
            h3_cell="8a2a1072b59ffff", h3_resolution=10, lat=38.9, long=-77.03, address="2100 block of Oak St"
        ),
    )
    return Event.create(payload, request_id=number, jurisdiction_id="demo", actor=GEO, source="geo")


async def feed_attempts(notifier, number: str) -> list[tuple[str, str | None]]:
    async with notifier.pool.connection() as conn:
        cur = await conn.execute(
            """select a.outcome, a.error from notifier.feed_attempts a
                 join notifier.feed_bulletins b using (bulletin_id)
                where b.request_id = %s order by a.attempted_at""",
            (number,),
        )
        return [(r[0], r[1]) for r in await cur.fetchall()]


async def test_public_updates_reach_the_category_and_district_topics_once(
    harness: Harness, account: GovDeliveryAccount
):
    number = new_number()
    account.subscribe("neighbour@example.org", CATEGORY, DISTRICT)
    async with harness.running() as notifier:
        assert notifier.feed is not None
        await harness.publish(
            await harness.submitted(number),
            placed(number),
            agent(number, CommentAdded(text="crew notes: dog in yard", visibility="internal")),
            agent(
                number, StatusChanged(status="acknowledged", previous_status="open", public_note="Dear Ana")
            ),
            agent(number, StatusChanged(status="in_progress", previous_status="acknowledged")),
            agent(number, StatusChanged(status="closed", previous_status="in_progress", reason="resolved")),
            agent(number, StatusChanged(status="in_progress", previous_status="closed", reason="recurred")),
        )

        async def four() -> list | None:
            got = [b for b in account.bulletins if number in b.subject]
            return got if len(got) == 4 else None

        bulletins = await eventually(four, what="four bulletins for the request")
        await harness.applied(notifier)

        async def four_attempts() -> list | None:  # the account answers before the attempt's row is written
            got = await feed_attempts(notifier, number)
            return got if len(got) >= 4 else None

        attempts = await eventually(four_attempts, what="the four attempts recorded")
        assert await notifier.feed.drain() == 0

    assert [b.body.split("</p>")[0] for b in bulletins] == [
        "<p>A report of pothole was received, at 2100 block of Oak St.<br>"
        f"Follow it at https://civicloop.example/track/{number}",
        f"<p>Report {number} (pothole, at 2100 block of Oak St) was acknowledged: a team is on it.<br>"
        f"Follow it at https://civicloop.example/track/{number}",
        f"<p>Report {number} (pothole, at 2100 block of Oak St) was closed.<br>Reason: resolved.<br>"
        f"Follow it at https://civicloop.example/track/{number}",
        f"<p>Report {number} (pothole, at 2100 block of Oak St) was reopened.<br>Reason: recurred.<br>"
        f"Follow it at https://civicloop.example/track/{number}",
    ]
    assert {b.topics for b in bulletins} == {(CATEGORY, DISTRICT)}
    assert attempts == [("accepted", None)] * 4
    assert len(account.inbox("neighbour@example.org")) == 4  # one copy each, though it follows both topics
    everything = " ".join(b.subject + b.body for b in bulletins)
    for private in (NAME, harness.phone, harness.email, "dog in yard", "Dear Ana", "2117", "38.9012"):
        assert private not in everything

    # A restart and a replay of the whole log send nothing again.
    async with harness.running(start_consumers=False) as restarted:
        assert restarted.feed is not None and await restarted.feed.drain() == 0
    replay = harness.settings.requests_consumer_name + ".replay"
    async with harness.running(requests_consumer_name=replay) as replaying:
        await harness.applied(replaying)
        assert replaying.feed is not None and await replaying.feed.drain() == 0
    assert len([b for b in account.bulletins if number in b.subject]) == 4


async def test_an_outage_delays_a_bulletin_and_loses_or_duplicates_nothing(
    harness: Harness, account: GovDeliveryAccount
):
    number = new_number()
    # The first try hangs past the client's bound (and is answered 503, keeping nothing); the second gets a 500.
    account.hang_for(1.0)
    account.answer_with(503, times=1)
    account.answer_with(500, times=1)
    slow = {"notifier_backoff_initial_s": 60.0, "notifier_backoff_max_s": 120.0}
    async with harness.running(**slow) as notifier:
        await harness.publish(await harness.submitted(number), placed(number))

        async def tried(count: int):
            async def probe() -> list | None:
                got = await feed_attempts(notifier, number)
                return got if len(got) == count else None

            return probe

        assert await eventually(await tried(1), what="a first attempt") == [
            ("failed", "govDelivery did not answer in time")
        ]
        account.hang_for(0)
    # A restart mid-outage keeps it. The test drains the feed itself, so no loop of the notifier's races it.
    async with harness.running(start_consumers=False, start_sending=False, **slow) as restarted:
        assert restarted.feed is not None
        harness.clock.offset += timedelta(seconds=121)
        assert await restarted.feed.drain() == 1
        harness.clock.offset += timedelta(seconds=121)
        assert await restarted.feed.drain() == 1
        assert await restarted.feed.drain() == 0
        attempts = await feed_attempts(restarted, number)
    assert [a[0] for a in attempts] == ["failed", "failed", "accepted"]
    assert "500" in (attempts[1][1] or "")
    assert len([b for b in account.bulletins if number in b.subject]) == 1


async def test_the_feed_is_off_without_an_account(harness: Harness):
    async with harness.running(govdelivery_base_url=None) as notifier:
        assert notifier.feed is None
