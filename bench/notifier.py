"""The notifier's pipeline: notifications/s from submissions on the log to messages a provider accepted.

`python -m bench.notifier [--notifications N]` measures two paths, each on a scratch database and scratch topics with
the notifier running as `make run` runs it (a real process, its real sender): email through its SMTP sender to an SMTP
relay of its own (aiosmtpd's discarding handler, another process), and SMS through the `twilio` SDK to the local
Twilio server (`civicloop_testing.twilio_server`, another process). N residents' contacts are sealed in the vault,
then N `request.submitted` events (the path's channel preferred, each resident their own) are published. Timed from
the first publish to the last attempt row written (`notifier.attempts.attempted_at`; both clocks are this
machine's): the consumer folding each submission and queueing its message in one transaction, the sender loop
unsealing the contact, rendering the text, sending it and recording the attempt, and `NotificationSent` published.
Every message must be accepted once. The ceiling beside each, in the same run: the same sender alone (same settings,
as many callers as the notifier's `notifier_concurrency`) sending N messages of the same shape to the same server.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult
from civicloop_channels.sms_provider import ClosingSender
from civicloop_channels.twilio_sms import TwilioSender, TwilioSettings
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import Channel as PreferredChannel
from civicloop_events.payloads import Location, ServiceRequestSubmitted
from civicloop_events.personal_data import PersonalData
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing.processes import ServiceProcess, free_port
from civicloop_testing.topic_cleanup import delete_created
from psycopg_pool import AsyncConnectionPool

from bench.harness import KAFKA, ROOT, scratch_database, scratch_topics, service_env

MAIL_FROM = "CivicLoop bench <no-reply@bench.civicloop.example>"
OUR_NUMBER = "+15005550006"
CONCURRENCY = 8  # the notifier's default `notifier_concurrency`: the ceiling's callers
TEXT = "We received your report 1BNC-0000. Thank you.\nFollow it at http://127.0.0.1:8001/track/1BNC-0000"


@dataclass(frozen=True)
class Path:
    """One way out: the provider's local server (a process), the notifier's settings for it, its sender alone."""

    label: str
    channel: Channel
    server: list[str]  # the command line of the provider's local server
    settings: dict[str, str]  # the notifier's environment for this provider
    sender: Callable[[], ClosingSender]  # the same sender, for the ceiling
    ready: str | None = None  # an HTTP path answering once the server is up; None: its port accepting

    def address(self, i: int) -> str:
        return f"resident{i}@bench.example" if self.channel is Channel.email else f"+1202{5_000_000 + i:07d}"

    def contact(self, i: int) -> PersonalData:
        if self.channel is Channel.email:
            return PersonalData(name=f"Resident {i}", email=self.address(i))
        return PersonalData(name=f"Resident {i}", phone=self.address(i))


def smtp_path(port: int) -> Path:
    """An SMTP relay that accepts every message and keeps none (aiosmtpd's `Sink`)."""
    return Path(
        label="SMTP relay",
        channel=Channel.email,
        server=[
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ],
        settings={
            "CIVICLOOP_NOTIFIER_PROVIDERS": '{"email": "smtp"}',
            "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
            "CIVICLOOP_EMAIL_PORT": str(port),
            "CIVICLOOP_EMAIL_MAIL_FROM": MAIL_FROM,
        },
        sender=lambda: _SmtpClosing(
            SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=port, mail_from=MAIL_FROM))
        ),
    )


def twilio_path(port: int) -> Path:
    """The local Twilio Messages API, one account with our sending number."""
    account_sid, auth_token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    base_url = f"http://127.0.0.1:{port}"
    return Path(
        label="local Twilio",
        channel=Channel.sms,
        server=[
            sys.executable,
            "-m",
            "civicloop_testing.twilio_server",
            "--port",
            str(port),
            "--account-sid",
            account_sid,
            "--auth-token",
            auth_token,
            "--number",
            OUR_NUMBER,
        ],
        settings={
            "CIVICLOOP_NOTIFIER_PROVIDERS": '{"sms": "twilio"}',
            "CIVICLOOP_SMS_PROVIDER": "twilio",
            "CIVICLOOP_SMS_ACCOUNT_SID": account_sid,
            "CIVICLOOP_SECRET_SMS_AUTH_TOKEN": auth_token,
            "CIVICLOOP_SMS_SMS_FROM": OUR_NUMBER,
            "CIVICLOOP_SMS_BASE_URL": base_url,
        },
        sender=lambda: TwilioSender(
            Channel.sms,
            TwilioSettings(
                account_sid=account_sid, auth_token=auth_token, sms_from=OUR_NUMBER, base_url=base_url
            ),
        ),
    )


class _SmtpClosing:
    """The SMTP sender under the name the Twilio sender closes by."""

    def __init__(self, sender: SmtpEmailSender) -> None:
        self.channel = sender.channel
        self._sender = sender

    async def send(self, message: OutgoingMessage) -> SendResult:
        return await self._sender.send(message)

    async def aclose(self) -> None:
        await self._sender.close()


def start_server(path: Path, port: int) -> subprocess.Popen[bytes]:
    log = ROOT / ".run" / "logs" / f"bench-{path.channel.value}-server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(path.server, stdout=log.open("w"), stderr=subprocess.STDOUT)


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
    raise RuntimeError(f"the provider's local server did not listen on {port} in {timeout:.0f} s")


async def submissions(vault: ResidentKeyVault, path: Path, count: int) -> list[Event[Any]]:
    """`count` submissions, each by a resident of their own (their messages go in parallel, as they would)."""
    events = []
    for i in range(count):
        sealed = await vault.seal(path.contact(i))
        payload = ServiceRequestSubmitted(
            service_code="pothole",
            description="Deep hole",
            location=Location(lat=34.05, long=-118.24),
            contact=sealed,
            preferred_channel=PreferredChannel(path.channel.value),
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


async def sender_alone(path: Path, count: int) -> float:
    """Seconds the path's sender alone takes to send `count` messages of the notifier's shape, `CONCURRENCY` callers."""
    sender = path.sender()
    queue = list(range(count))
    refused = 0

    async def caller() -> None:
        nonlocal refused
        while queue:
            i = queue.pop()
            result = await sender.send(
                OutgoingMessage(
                    message_id=f"bench-{i}",
                    channel=path.channel,
                    to=path.address(i),
                    text=TEXT,
                    subject="Your report 1BNC-0000" if path.channel is Channel.email else None,
                    headers={
                        "List-Unsubscribe": "<http://127.0.0.1:8006/api/v1/notifier/unsubscribe?token=x>"
                    }
                    if path.channel is Channel.email
                    else {},
                )
            )
            refused += result.outcome is not Outcome.accepted

    started = time.perf_counter()
    try:
        await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    finally:
        await sender.aclose()
    if refused:
        raise RuntimeError(f"{path.label} did not accept {refused} of {count} messages")
    return time.perf_counter() - started


async def pipeline(path: Path, count: int) -> tuple[float, int]:
    """Seconds from the first publish to the last attempt row through the notifier, and the attempts retried."""
    with scratch_database("cl_bench_notifier") as dsn:
        topics = await scratch_topics()
        env = service_env(dsn, topics, **{"CIVICLOOP_SMS_PROVIDER": "", **path.settings})
        notifier = ServiceProcess("notifier", "civicloop-notifier", env, log_prefix="bench")
        notifier.run_cli("migrate")
        pool = AsyncConnectionPool(dsn, open=False, min_size=1, max_size=2, kwargs={"autocommit": True})
        await pool.open()
        try:
            vault = ResidentKeyVault(pool, pepper=env["CIVICLOOP_VAULT_PEPPER"].encode())
            events = await submissions(vault, path, count)
            notifier.start()
            try:
                await notifier.wait_ready()
                first_publish = await publish(topics, events)
                last_attempt, retried = await wait_attempted(pool, count)
            finally:
                notifier.stop()
        finally:
            await pool.close()
    return (last_attempt - first_publish).total_seconds(), retried


async def run_path(make: Callable[[int], Path], count: int) -> list[str]:
    port = free_port()
    path = make(port)
    server = start_server(path, port)
    try:
        await wait_listening(port)
        pipeline_s, retried = await pipeline(path, count)
        alone_s = await sender_alone(path, count)
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate, ceiling = count / pipeline_s, count / alone_s
    return [
        f"{'notifier: log -> ' + path.label:<44} {rate:9.1f} notifications/s"
        f"   ({count} sent once each, {pipeline_s:.1f} s from first publish to last attempt row,"
        f" {retried} attempts retried)",
        f"{'ceiling: ' + path.channel.value + ' sender alone -> ' + path.label:<44} {ceiling:9.1f} messages/s"
        f"        ({CONCURRENCY} callers, {alone_s:.1f} s)   ratio {rate / ceiling:.3f}",
    ]


async def run(notifications: int) -> list[str]:
    return [*await run_path(smtp_path, notifications), *await run_path(twilio_path, notifications)]


def main(
    notifications: int = typer.Option(2_000, help="submissions published per path, each one notification"),
) -> None:
    try:
        for line in asyncio.run(run(notifications)):
            typer.echo(line)
    finally:
        delete_created()  # the scratch topics, as `python -m bench` deletes them


if __name__ == "__main__":
    typer.run(main)
