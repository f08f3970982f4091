"""Hostile bodies against the real intake app under uvicorn (its pool and producer open, on the real broker and
PostGIS): a 20 MB body, declared or chunked, is refused 413 in intake's JSON error format and the connection is
closed instead of the rest being read; a body that is not UTF-8 is refused 400 (`MalformedBodyRead`, documented)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from civicloop_events.topics import Topics
from civicloop_intake.entrypoints.http import create_app
from civicloop_testing.oversized import post_oversized
from civicloop_testing.threaded_server import serve_in_thread
from intake_harness import intake_settings, pothole_at_a_point

pytestmark = pytest.mark.integration

BODY = 20 * 1024 * 1024


@pytest.fixture
def intake_url(migrated_dsn: str, kafka_bootstrap: str, fresh_topics: Topics) -> Iterator[str]:
    app = create_app(intake_settings(migrated_dsn, kafka_bootstrap, fresh_topics), start_consumers=False)
    with serve_in_thread(app, lifespan="on") as url:
        yield url


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
async def test_a_20_mb_body_is_refused_413_and_the_connection_closed(intake_url: str, chunked: bool) -> None:
    answer = await asyncio.to_thread(
        post_oversized,
        intake_url,
        "/api/v1/requests",
        size=BODY,
        chunked=chunked,
        content_type="application/json",
    )
    assert answer.status == 413
    assert json.loads(answer.body) == {
        "error": "payload_too_large",
        "detail": "the request body is larger than 1048576 bytes",
    }
    assert answer.headers["connection"] == "close"
    assert answer.sent < BODY // 2, f"intake let the client send {answer.sent} bytes"


async def test_a_body_that_is_not_utf8_is_refused(intake_url: str) -> None:
    body = json.dumps(pothole_at_a_point("+12025550143")).encode().replace(b"Deep hole", b"Deep caf\xe9")
    async with httpx.AsyncClient(base_url=intake_url) as client:
        r = await client.post("/api/v1/requests", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {"detail": "There was an error parsing the body"}  # the input is never echoed back
