"""A broker outage on the gateway's write side: partners' POSTs are refused at once in Open311's error format while
it lasts, and served again within seconds of the broker's return; nothing accepted twice on the log.

The broker is a real Kafka of this test's own (`ThrowawayKafka`): the shared one is never stopped.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from civicloop_events import decode_event
from civicloop_gateway import database
from civicloop_gateway.domain.partner_keys import issue_key
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import GatewaySettings
from civicloop_testing import create_database, drop_database, make_topics, read_all_records
from civicloop_testing.asgi import serving
from civicloop_testing.faults import ThrowawayKafka
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from write_harness import CITY, PartnerClient, _configure

pytestmark = [pytest.mark.integration, pytest.mark.faults]


async def test_partners_posts_are_refused_at_once_during_an_outage_and_served_within_seconds_after(
    pg_admin_dsn,
):
    async with ThrowawayKafka() as kafka:
        topics = await make_topics(kafka.bootstrap)
        dsn = create_database(pg_admin_dsn, prefix="cl_gateway_outage")
        try:
            settings = run_settings(
                GatewaySettings,
                dsn,
                kafka.bootstrap,
                topics,
                read_your_writes_timeout_s=5.0,
                publish_timeout_s=3.0,
                event_log_breaker_open_s=1.0,
                log_level="WARNING",
            )
            database.migrate(settings.sqlalchemy_url)
            partner, revoked = PartnerClient("cityapp", issue_key()), PartnerClient("old-app", issue_key())
            app = create_app(settings)
            async with serving(app, "http://gateway.test/open311/v2/") as client:
                await _configure(
                    settings, app.state.service.pool, [(CITY, partner), (CITY, revoked)], revoked
                )
                n = 0

                async def post() -> int:
                    nonlocal n
                    n += 1
                    form = {
                        "api_key": partner.key,
                        "jurisdiction_id": CITY,
                        "service_code": "POTHOLE",
                        "lat": "39.78",
                        "long": "-89.65",
                        "description": f"outage report {n}",  # unique: identical forms are one request
                    }
                    r = await client.post("requests.json", data=form)
                    if r.status_code != 200:  # Open311 answers a created request 200
                        assert r.status_code == 503 and r.headers["retry-after"], r.text
                        assert r.json()[0]["code"] == 503, r.text  # Open311's error document
                    return r.status_code

                assert await post() == 200
                await kafka.stop()
                assert await post() == 503  # waits out the publish timeout at most, and opens the breaker
                timings = []
                for _ in range(10):
                    started_at = time.monotonic()
                    assert await post() == 503
                    timings.append(time.monotonic() - started_at)
                assert max(timings) < 0.5, timings

                await kafka.start()
                back_at = time.monotonic()

                async def served() -> bool:
                    return await post() == 200

                await eventually(served, timeout=60, interval=0.25, what="a POST accepted after the outage")
                recovered_s = time.monotonic() - back_at
                print(f"gateway: served again {recovered_s:.2f}s after the broker returned")
                assert recovered_s < 10, f"served again {recovered_s:.1f}s after the broker's return"

            records = await read_all_records(kafka.bootstrap, topics.request_events, topics.partitions)
        finally:
            drop_database(pg_admin_dsn, dsn)
    ids = Counter(str(decode_event(r.value).event_id) for r in records)
    assert [i for i, count in ids.items() if count > 1] == []
