"""The client's background pieces: the `ExternalReferenceAssigned` fold (a real consumer on the real broker), and the
`civicloop-outbound open311` commands against the deviant server (poll rounds that resume, history import, status)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from civicloop_events import Actor, Event
from civicloop_events.payloads import ExternalReferenceAssigned
from civicloop_events.request_numbers import new_request_number
from civicloop_open311.wire import as_datetime
from civicloop_outbound.bootstrap import Open311Background
from civicloop_outbound.entrypoints.cli import app as cli
from civicloop_outbound.settings import OutboundSettings
from civicloop_testing.events import request_event
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from o311client_harness import JURISDICTION, define_body, deviant_body, read_events
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OUTBOUND = Actor(kind="system", id="outbound")


async def test_assigned_references_are_folded_by_the_consumer(
    o311_dsn, o311_pool, o311_producer, o311_topics, kafka_bootstrap, o311_http
):
    settings = run_settings(
        OutboundSettings,
        o311_dsn,
        kafka_bootstrap,
        o311_topics,
        open311_refs_consumer_name=f"o311refs.{uuid.uuid4().hex[:6]}",
    )
    number = new_request_number()
    body_id = f"refs-{uuid.uuid4().hex[:6]}"
    await o311_producer.publish(
        reference_assigned(body_id, "WO-123", request_id=number, jurisdiction_id=JURISDICTION)
    )
    background = Open311Background(settings=settings, pool=o311_pool, producer=o311_producer, http=o311_http)
    background.start(polling=False)
    try:

        async def folded():
            async with o311_pool.connection() as conn:
                cur = await conn.execute(
                    "select request_id from outbound.external_refs where body_id = %s"
                    " and external_id = 'WO-123'",
                    (body_id,),
                )
                return await cur.fetchone()

        assert await eventually(folded, timeout=30, what="the folded reference") == (number,)
    finally:
        await background.stop()


def reference_assigned(
    body_id: str, external_id: str, *, request_id: str, jurisdiction_id: str
) -> Event[Any]:
    """The outbound worker's record that a back-end's request `external_id` is ours `request_id`."""
    return request_event(
        ExternalReferenceAssigned(body_id=body_id, external_id=external_id),
        request_id=request_id,
        actor=OUTBOUND,
        source="outbound",
        jurisdiction_id=jurisdiction_id,
    )


def _cli(env: dict[str, str], *args: str):
    result = CliRunner().invoke(cli, ["open311", *args], env=env)
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


async def test_cli_poll_resumes_from_the_stored_window_and_import_and_status_report(
    deviant, o311_dsn, o311_pool, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body_id = f"cli-{uuid.uuid4().hex[:6]}"
    jurisdiction = f"cli-{uuid.uuid4().hex[:6]}.example.gov"
    await define_body(
        o311_pool, jurisdiction, deviant_body(url, body_id, import_requests=True, format="json")
    )
    env = {
        "CIVICLOOP_PG_DSN": o311_dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_TOPIC_PREFIX": o311_topics.prefix,
        "CIVICLOOP_SECRET_DEVIANT_KEY": state.api_key,
    }

    await asyncio.to_thread(_cli, env, "poll", "--force", "-j", jurisdiction)
    first = list(state.update_queries)
    await asyncio.sleep(1.1)
    await asyncio.to_thread(
        _cli, env, "poll", "--force", "-j", jurisdiction
    )  # reads where the last one stopped
    ours = state.update_queries[len(first) :]
    assert len(first) == 2 and len(ours) == 1  # updates and the first mop-up, then updates only
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select window_end from outbound.backend_poll_state where body_id = %s and kind = 'updates'",
            (body_id,),
        )
        (window_end,) = await cur.fetchone()
    # the second poll started at the first one's end minus the overlap, not a fresh 24-hour window
    first_end = as_datetime(first[0]["end_date"])
    second_start = as_datetime(ours[-1]["start_date"])
    assert (first_end - second_start).total_seconds() == pytest.approx(300, abs=1)
    assert window_end >= as_datetime(ours[-1]["end_date"])

    state.requests = [
        {
            "service_request_id": "H-1",
            "status": "open",
            "service_code": "RT-9",
            "description": "Old pothole",
            "requested_datetime": "2026-03-01T12:00:00Z",
            "address": "3 Elm St",
        }
    ]
    out = await asyncio.to_thread(
        _cli,
        env,
        "import",
        "-j",
        jurisdiction,
        "--body",
        body_id,
        "--since",
        "2026-01-01",
        "--until",
        "2026-11-01",
    )
    assert "imported 1" in out
    history_queries = [q for q in state.request_queries if q.get("start_date", "") < "2026-11"]
    assert len(history_queries) >= 4  # ten months in windows of at most 90 days
    assert all(
        (as_datetime(q["end_date"]) - as_datetime(q["start_date"])).days <= 90 for q in history_queries
    )
    assert as_datetime(history_queries[0]["start_date"]) == datetime(2026, 1, 1, tzinfo=UTC)

    status = json.loads(await asyncio.to_thread(_cli, env, "status", "-j", jurisdiction, "--json"))
    [row] = [r for r in status if r["body"] == body_id]
    assert (
        row["imported"] == 1 and row["references"] == 1 and row["updates_method"] == "servicerequestupdates"
    )
    assert row["polled_to"] is not None


async def test_cli_discover_prints_the_endpoint_and_format_to_configure(deviant):
    _, url = deviant
    out = await asyncio.to_thread(_cli, {"CIVICLOOP_ENV": "test"}, "discover", f"{url}/discovery.json")
    found = json.loads(out)
    assert found["endpoint"] == f"{url}/v2" and found["format"] == "json"
    assert found["changeset"] == "2012-09-18T20:37:00+00:00"
    failed = await asyncio.to_thread(
        CliRunner().invoke, cli, ["open311", "discover", f"{url}/discovery.json", "--type", "test"]
    )
    assert failed.exit_code == 1 and "no test GeoReport v2 endpoint" in failed.output


async def test_the_run_command_folds_references_and_polls_until_terminated(
    deviant, o311_dsn, o311_pool, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    jurisdiction = f"run-{uuid.uuid4().hex[:6]}.example.gov"
    body = await define_body(o311_pool, jurisdiction, deviant_body(url, "public-works", poll_interval_s=10))
    number = new_request_number()
    await o311_producer.publish(
        reference_assigned(body.body_id, "R-77", request_id=number, jurisdiction_id=jurisdiction)
    )
    state.updates = [
        {
            "update_id": "run-1",
            "service_request_id": "R-77",
            "status": "in_progress",
            "updated_datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "description": "Booked",
        }
    ]
    env = {
        **os.environ,
        "CIVICLOOP_PG_DSN": o311_dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_TOPIC_PREFIX": o311_topics.prefix,
        "CIVICLOOP_LOG_LEVEL": "WARNING",
        "CIVICLOOP_SECRET_DEVIANT_KEY": state.api_key,
        "CIVICLOOP_OPEN311_TICK_S": "0.3",
        "CIVICLOOP_OPEN311_REFS_CONSUMER_NAME": f"o311run.{uuid.uuid4().hex[:6]}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_outbound.entrypoints.cli",
        "open311",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def heard() -> list:
            return await read_events(
                kafka_bootstrap,
                o311_topics,
                request_id=number,
                types=("request.status.changed",),
            )

        # R-77 is known only through the folded event (a round before the fold sees it as unknown; the next,
        # 10 s later, applies it): the change proves that the fold and the poll both ran.
        [change] = await eventually(heard, timeout=60, what="the status change heard by `open311 run`")
        assert change.payload.status == "in_progress" and change.payload.public_note == "Booked"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
