"""selfheal's client of intake against intake's real app: a submission left pending is published by intake's cron
sweep when selfheal asks (with the cron token), and selfheal reads the age of what is still pending from intake's
real `/metrics`. On the real broker and PostgreSQL; the pending row is left by an intake whose broker is away."""

from __future__ import annotations

import httpx
import pytest
from civicloop_events import ServiceDefined
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_selfheal.adapters.intake_http import HttpIntakeOutboxes
from civicloop_selfheal.settings import CRON_TOKEN_REF
from civicloop_testing.asgi import serving
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import verifier_for_tests
from e2e_world import migrated_intake, publish_configuration

pytestmark = pytest.mark.integration

BODY = {"service_code": "pothole", "description": "Left behind", "lat": 38.9, "long": -77.0}
TOKEN = "e2e-cron-token-0123456789abcdef"


async def test_selfheal_asks_intake_to_publish_what_was_left_pending(
    fresh_database_dsn, fresh_topics, kafka_bootstrap, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN", TOKEN)
    settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap, fresh_topics, ServiceDefined(service_code="pothole", service_name="Pothole")
    )
    async with serving(
        create_intake(settings, staff_verifier=verifier_for_tests()), "http://intake"
    ) as intake:

        async def accepted() -> bool:
            return (await intake.post("/api/v1/requests", json=BODY)).status_code == 201

        await eventually(accepted, timeout=30, what="a submission accepted (the catalogue folded)")

    cut_off = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1", "kafka_connect_timeout_s": 1})
    async with serving(
        create_intake(cut_off, staff_verifier=verifier_for_tests()), "http://intake"
    ) as intake:
        left = await intake.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "left-pending"})
        assert left.status_code == 503

    # Every pending row counts at once; no consumers, so only the cron sweep publishes it.
    eager = settings.model_copy(update={"sweep_pending_after_s": 0.001})
    app = create_intake(eager, staff_verifier=verifier_for_tests(), start_consumers=False)
    async with serving(app, "http://intake"):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            outboxes = HttpIntakeOutboxes(client, cron_token_ref=CRON_TOKEN_REF)
            assert await outboxes.sweep_now() == 1
            assert await outboxes.sweep_now() == 0
            assert await outboxes.oldest_pending_s() is not None
            # The gauge is the process's: other outboxes' labels (the gateway's, in a whole test run) may stand
            # beside intake's, so read intake's submissions outbox itself.
            metrics = (await client.get("/metrics")).text
            assert 'civicloop_outbox_oldest_pending_seconds{outbox="intake.submissions"} 0.0' in metrics
