"""`make run`'s govDelivery feed: the notifier's settings read from exactly the environment `deploy/local/services.sh`
exports turn the feed on, and a bulletin to the topics the feed's naming rule gives reaches the local govDelivery
account (whose topics the demo seed created by the same rule). (The run directory, ports and throwaway service are
`test_local_providers`'s.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from civicloop_channels.govdelivery import topics_to
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_notifier.adapters.feed_setup import feed_rule, govdelivery_sender
from civicloop_notifier.domain.feed import FeedRequest
from civicloop_notifier.settings import NotifierSettings

from tests.test_local_providers import LocalRun, _local_run


@pytest.fixture
def local_run(tmp_path: Path) -> Iterator[LocalRun]:
    yield from _local_run(tmp_path, providers=True)


async def _bulletin(settings: NotifierSettings, env: dict[str, str], topics: tuple[str, ...]) -> Outcome:
    sender = govdelivery_sender(settings, env)
    try:
        message = OutgoingMessage(
            "local-feed", Channel.govdelivery, topics_to(topics), "Filled.", subject="Pothole"
        )
        return (await sender.send(message)).outcome
    finally:
        await sender.aclose()


def test_make_run_turns_the_feed_on_against_the_local_govdelivery_account(
    local_run: LocalRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = local_run.script("start")
    assert started.returncode == 0, started.stderr
    env = local_run.service_env()
    for name, value in env.items():
        if name.startswith("CIVICLOOP_GOVDELIVERY_"):
            monkeypatch.setenv(name, value)
    settings = NotifierSettings(env="test")
    assert settings.govdelivery_configured()

    topics = feed_rule(settings).topics(FeedRequest("1ABC-2DEF", "demo", "pothole", "district-1"))
    assert topics == ("DEMO_311_CAT_POTHOLE", "DEMO_311_DIST_DISTRICT_1")
    assert asyncio.run(_bulletin(settings, env, topics)) is Outcome.accepted
    sent = httpx.get(
        f"{env['CIVICLOOP_GOVDELIVERY_BASE_URL']}/api/account/DEMO/bulletins/sent.xml",
        auth=(env["CIVICLOOP_GOVDELIVERY_USERNAME"], env["CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD"]),
    )
    assert sent.status_code == 200 and "DEMO_311_DIST_DISTRICT_1" in sent.text
