"""`civicloop-outbound run` as its own process: migrate, define a body with the CLI, submit, the email
arrives at the real SMTP server; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator

import pytest
from civicloop_events import Location, ServiceRequestSubmitted
from civicloop_events.request_numbers import new_request_number
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import publish_events, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from outbound_harness import RESIDENT, SmtpServer, outbound_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    return await outbound_cli(env, *args, timeout=120)


async def test_outbound_run_sends_and_stops_on_sigterm(
    pg_admin_dsn: str, kafka_bootstrap: str, smtp: SmtpServer
) -> None:
    topics = await make_topics(kafka_bootstrap)
    dsn = create_database(pg_admin_dsn, prefix="cl_gateway_outbound_run")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CIVICLOOP_PG_DSN": dsn,
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_TOPIC_PREFIX": topics.prefix,
        "CIVICLOOP_TOPIC_PARTITIONS": str(topics.partitions),
        "CIVICLOOP_SMTP_PORT": str(smtp.port),
        "CIVICLOOP_OUTBOUND_POLL_INTERVAL_S": "0.1",
        "CIVICLOOP_LOG_LEVEL": "WARNING",
    }
    city = "run.example.gov"
    proc = None
    try:
        code, out = await _cli(env, "migrate")
        assert code == 0, out
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "civicloop_outbound.entrypoints.cli",
            "run",
            "--port",
            str(free_port()),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(
                [
                    {
                        "body_id": "parks",
                        "name": "Parks",
                        "service_codes": ["TREE"],
                        "email": "parks@run.example.gov",
                    }
                ],
                f,
            )
        code, out = await _cli(env, "bodies", "define", "-j", city, "--file", f.name, "--wait", "60")
        assert code == 0 and "bodies parks: published; applied" in out, out

        rid = new_request_number()
        submitted = request_event(
            ServiceRequestSubmitted(
                service_code="TREE", description="Fallen branch", location=Location(lat=40.0, long=-89.0)
            ),
            request_id=rid,
            actor=RESIDENT,
            source="web",
            jurisdiction_id=city,
        )
        await publish_events(
            kafka_bootstrap, topics.request_events, [submitted], client_id="outbound-run-test"
        )

        async def mailed() -> bool:
            return bool(smtp.for_request(rid))

        await eventually(mailed, timeout=60, what="the email from `outbound run`")
        [mail] = smtp.for_request(rid)
        assert (
            mail.rcpt_tos == ["parks@run.example.gov"]
            and "Fallen branch" in mail.message.get_body(("plain",)).get_content()
        )
        code, out = await _cli(env, "status", "-j", city, "--json")
        assert code == 0 and json.loads(out)[0]["sent"] == 1, out

        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
        proc = None
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        drop_database(pg_admin_dsn, dsn)
