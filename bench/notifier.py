"""The notifier's pipeline: notifications/s from submissions on the log to messages an SMTP relay accepted.

`python -m bench.notifier [--notifications N]` seals N residents' email addresses in the vault of a scratch database,
then publishes N `request.submitted` events (email as the preferred channel, each resident their own) on scratch
topics, with the notifier running as `make run` runs it (a real process, its real SMTP sender) and an SMTP relay of
its own (aiosmtpd's discarding handler, another process). Timed from the first publish to the last attempt row
written (the notifier's `notifier.attempts.attempted_at`; both clocks are this machine's): the consumer folding each
submission and queueing its message in one transaction, the sender loop unsealing the contact, rendering the text,
sending it and recording the attempt, and `NotificationSent` published. The ceiling beside it, in the same run: the
same SMTP sender alone (`civicloop_channels.email.SmtpEmailSender`, same settings, as many callers as the notifier's
`notifier_concurrency`) sending N messages of the same shape to the same relay.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import typer
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import Channel as PreferredChannel
from civicloop_events.payloads import Location, ServiceRequestSubmitted
from civicloop_events.personal_data import PersonalData
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing.processes import ServiceProcess, free_port
from psycopg_pool import AsyncConnectionPool

from bench.harness import KAFKA, ROOT, scratch_database, scratch_topics, service_env

MAIL_FROM = "CivicLoop bench <no-reply@bench.civicloop.example>"
CONCURRENCY = 8  # the notifier's default `notifier_concurrency`: the ceiling's callers
TEXT = "We received your report 1BNC-0000. Thank you.\nFollow it at http://127.0.0.1:8001/track/1BNC-0000"


def start_relay(port: int) -> subprocess.Popen[bytes]:
    """An SMTP relay that accepts every message and keeps none (aiosmtpd's `Sink`), in a process of its own."""
    log = ROOT / ".run" / "logs" / f"bench-smtp-relay-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


async def wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"the SMTP relay did not listen on {port} in {timeout:.0f} s")


async def submissions(vault: ResidentKeyVault, count: int) -> list[Event[Any]]:
    """`count` submissions, each by a resident of their own (their messages go in parallel, as they would)."""
    events = []
    for i in range(count):
        sealed = await vault.seal(PersonalData(name=f"Resident {i}", email=f"resident{i}@bench.example"))
        payload = ServiceRequestSubmitted(
            service_code="pothole",
            description="Deep hole",
            location=Location(lat=34.05, long=-118.24),
            contact=sealed,
            preferred_channel=PreferredChannel.email,
            language="en",
        )
        events.append(
            Event.create(
                payload,
                request_id=f"1{i // 10000:03d}-{i % 10000:04d}",
                jurisdiction_id="demo",
                actor=Actor(kind=ActorKind.resident, id=str(sealed.resident_id)),
                source="web",
            )
        )
    return events


async def publish(topics: Topics, events: list[Event[Any]]) -> datetime:
    """Publish every event (1,000 in flight at most); when the first publish started."""
    producer = EventProducer(KAFKA, topics.request_events, client_id="bench-notifier")
    await producer.start()
    try:
        started = datetime.now(UTC)
        for start in range(0, len(events), 1000):
            await asyncio.gather(*(producer.publish(e) for e in events[start : start + 1000]))
        return started
    finally:
        await producer.stop()


async def wait_attempted(pool: AsyncConnectionPool, count: int, timeout: float = 600) -> tuple[datetime, int]:
    """When the last of `count` accepted attempts was written, and how many attempts failed (retried) on the way;
    fails on a duplicate or when not done in `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with pool.connection() as conn:
            cur = await conn.execute(
                """select count(*) filter (where outcome = 'accepted'),
                          count(*) filter (where outcome <> 'accepted'),
                          max(attempted_at)
                     from notifier.attempts"""
            )
            row = await cur.fetchone()
        assert row is not None
        accepted, other, last = row
        if accepted > count:
            raise RuntimeError(f"{accepted} messages accepted for {count} submissions: a duplicate")
        if accepted == count:
            return last, other
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the notifier did not send {count} messages in {timeout:.0f} s")


async def sender_alone(port: int, count: int) -> float:
    """Seconds the SMTP sender takes to send `count` messages of the notifier's shape, `CONCURRENCY` callers."""
    sender = SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=port, mail_from=MAIL_FROM))
    queue = list(range(count))
    refused = 0

    async def caller() -> None:
        nonlocal refused
        while queue:
            i = queue.pop()
            result = await sender.send(
                OutgoingMessage(
                    message_id=f"bench-{i}",
                    channel=Channel.email,
                    to=f"resident{i}@bench.example",
                    text=TEXT,
                    subject="Your report 1BNC-0000",
                    headers={
                        "List-Unsubscribe": "<http://127.0.0.1:8006/api/v1/notifier/unsubscribe?token=x>"
                    },
                )
            )
            refused += result.outcome is not Outcome.accepted

    started = time.perf_counter()
    try:
        await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    finally:
        await sender.close()
    if refused:
        raise RuntimeError(f"the relay did not accept {refused} of {count} messages")
    return time.perf_counter() - started


async def run(notifications: int) -> list[str]:
    relay_port = free_port()
    relay = start_relay(relay_port)
    try:
        await wait_listening(relay_port)
        with scratch_database("cl_bench_notifier") as dsn:
            topics = await scratch_topics()
            env = service_env(
                dsn,
                topics,
                CIVICLOOP_NOTIFIER_PROVIDERS='{"email": "smtp"}',
                CIVICLOOP_SMS_PROVIDER="",
                CIVICLOOP_EMAIL_HOST="127.0.0.1",
                CIVICLOOP_EMAIL_PORT=str(relay_port),
                CIVICLOOP_EMAIL_MAIL_FROM=MAIL_FROM,
            )
            notifier = ServiceProcess("notifier", "civicloop-notifier", env, log_prefix="bench")
            notifier.run_cli("migrate")
            pool = AsyncConnectionPool(dsn, open=False, min_size=1, max_size=2, kwargs={"autocommit": True})
            await pool.open()
            try:
                vault = ResidentKeyVault(pool, pepper=env["CIVICLOOP_VAULT_PEPPER"].encode())
                events = await submissions(vault, notifications)
                notifier.start()
                try:
                    await notifier.wait_ready()
                    first_publish = await publish(topics, events)
                    last_attempt, retried = await wait_attempted(pool, notifications)
                finally:
                    notifier.stop()
            finally:
                await pool.close()
        pipeline_s = (last_attempt - first_publish).total_seconds()
        alone_s = await sender_alone(relay_port, notifications)
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    rate, ceiling = notifications / pipeline_s, notifications / alone_s
    return [
        f"{'notifier, submission on the log -> SMTP relay':<44} {rate:9.1f} notifications/s"
        f"   ({notifications} sent once each, {pipeline_s:.1f} s from first publish to last attempt row,"
        f" {retried} attempts retried)",
        f"{'ceiling: the SMTP sender alone, same relay':<44} {ceiling:9.1f} messages/s"
        f"        ({CONCURRENCY} callers, {alone_s:.1f} s)   ratio {rate / ceiling:.3f}",
    ]


def main(
    notifications: int = typer.Option(2_000, help="submissions published, each one notification"),
) -> None:
    for line in asyncio.run(run(notifications)):
        typer.echo(line)


if __name__ == "__main__":
    typer.run(main)
