"""`POST /api/cron/sweep-pending` on the real broker and database: the cron token or an admin publishes what a
command left pending, once; no credentials, a wrong token or another role publish nothing."""

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_intake.entrypoints.http import create_app
from civicloop_runtime.cron import CRON_TOKEN_HEADER
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from intake_harness import intake_settings
from test_outbox_sweeper import copies_on_the_log, left_pending

pytestmark = pytest.mark.integration

TOKEN = "intake-cron-token-for-tests-0123456789"
PATH = "/api/cron/sweep-pending"


async def test_the_cron_sweep_publishes_what_was_left_pending_once_and_refuses_strangers(
    intake, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN", TOKEN)
    _, event_id = await left_pending(intake, "cron-swept-1")
    # An intake that counts a row pending at once, without its consumers and its own sweeper (which would publish it).
    eager = intake_settings(
        intake.settings.pg_dsn,
        intake.settings.kafka_bootstrap,
        intake.topics,
        sweep_pending_after_s=0.001,
        sweep_every_s=3600,
    )
    app = create_app(eager, staff_verifier=verifier_for_tests(), start_consumers=False)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake", timeout=30
        ) as client,
    ):
        refused = [
            await client.post(PATH),
            await client.post(PATH, headers={CRON_TOKEN_HEADER: "not-it"}),
            await client.post(PATH, headers=staff_headers(None, "agent")),
        ]
        assert [r.status_code for r in refused] == [401, 403, 403]
        assert await copies_on_the_log(intake, event_id) == 0

        first = await client.post(PATH, headers={CRON_TOKEN_HEADER: TOKEN})
        assert (first.status_code, first.json()["published"] >= 1) == (200, True)
        again = await client.post(PATH, headers=staff_headers(None, "admin"))
        assert again.json() == {"published": 0}
    assert await copies_on_the_log(intake, event_id) == 1
