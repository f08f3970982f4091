"""`make run`'s local providers: `deploy/local/services.sh` supervises a local Twilio, a web push service, a
govDelivery account and a mailbox beside the services, and exports the settings the services read to reach them.

Each test runs the script on a run directory of its own, on free ports, with one throwaway service in place of the
real ones: it writes down the environment supervisord gave it, as a real service would read its settings. The
channel senders of `civicloop_channels` then send through each provider with exactly those settings.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from civicloop_channels.govdelivery import GovDeliverySender, GovDeliverySettings
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.sms_provider import sms_sender, sms_settings
from civicloop_channels.web_push import WebPushSender, WebPushSettings
from civicloop_testing.processes import free_port
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SERVICES_SH = Path(__file__).resolve().parents[1] / "deploy" / "local" / "services.sh"

# A service that keeps the CIVICLOOP_ part of its environment in a file, then waits to be stopped.
ENV_DUMP = """
import json, os, signal, sys, threading

env = {k: v for k, v in os.environ.items() if k.startswith("CIVICLOOP_")}
with open(sys.argv[1] + ".partial", "w") as fh:
    json.dump(env, fh)
os.replace(sys.argv[1] + ".partial", sys.argv[1])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
"""

PROVIDERS = ("twilio", "push-service", "govdelivery", "mailbox")
# What the run under test sets itself: the environment of whoever runs the tests must not stand in for it.
EXPORTED = (
    "CIVICLOOP_SMS_",
    "CIVICLOOP_SECRET_",
    "CIVICLOOP_STAFF_SMTP_",
    "CIVICLOOP_EMAIL_",
    "CIVICLOOP_WEB_PUSH_",
)
EXPORTED += ("CIVICLOOP_GOVDELIVERY_", "CIVICLOOP_LOCAL_")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listener_pid(port: int) -> int | None:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    for part in out.split("pid=")[1:]:
        return int(part.split(",", 1)[0])
    return None


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def eventually(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.1)


class LocalRun:
    def __init__(
        self, run_dir: Path, providers: bool, sms_provider: str | None = None, demo: bool = False
    ) -> None:
        self.run_dir = run_dir
        self.sms_provider = sms_provider
        names = ("sms", "push", "govdelivery", "mail_smtp", "mail_web", "workorders")
        self.ports = {name: free_port() for name in names}
        self.providers = providers
        self.demo = demo  # the demo county's back-ends (tests/test_local_demo.py)
        self.env_file = run_dir / "service-env.json"
        self.extra_env: dict[str, str] = {}

    def script(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(EXPORTED)}
        env.update(
            CIVICLOOP_RUN_DIR=str(self.run_dir),
            CIVICLOOP_SERVICES_LIST=str(self.run_dir / "services.list"),
            CIVICLOOP_SERVICE_START_SECONDS="1",
            CIVICLOOP_SERVICE_STOP_SECONDS="5",
            CIVICLOOP_SERVICE_READY_SECONDS="60",
            CIVICLOOP_LOCAL_PROVIDERS="1" if self.providers else "0",
            CIVICLOOP_LOCAL_SMS_PORT=str(self.ports["sms"]),
            CIVICLOOP_LOCAL_PUSH_PORT=str(self.ports["push"]),
            CIVICLOOP_LOCAL_GOVDELIVERY_PORT=str(self.ports["govdelivery"]),
            CIVICLOOP_LOCAL_MAIL_SMTP_PORT=str(self.ports["mail_smtp"]),
            CIVICLOOP_LOCAL_MAIL_WEB_PORT=str(self.ports["mail_web"]),
            CIVICLOOP_LOCAL_DEMO="1" if self.demo else "0",
            CIVICLOOP_LOCAL_WORKORDERS_PORT=str(self.ports["workorders"]),
        )
        env.update(self.extra_env)
        if self.sms_provider is not None:
            env["CIVICLOOP_SMS_PROVIDER"] = self.sms_provider
        return subprocess.run(
            ["bash", str(SERVICES_SH), *args], env=env, capture_output=True, text=True, timeout=timeout
        )

    def pid(self, name: str) -> int:
        return int(self.script("ctl", "pid", name).stdout.strip() or 0)

    def service_env(self) -> dict[str, str]:
        eventually(self.env_file.exists, 20, "the service wrote its environment")
        env: dict[str, str] = json.loads(self.env_file.read_text())
        return env


def _local_run(tmp_path: Path, providers: bool, sms_provider: str | None = None) -> Iterator[LocalRun]:
    (tmp_path / "env_dump.py").write_text(ENV_DUMP)
    run = LocalRun(tmp_path, providers, sms_provider)
    (tmp_path / "services.list").write_text(
        f"service|-|{sys.executable} {tmp_path / 'env_dump.py'} {run.env_file}\n"
    )
    try:
        yield run
    finally:
        run.script("stop")
        pid_file = tmp_path / "supervisord.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.fixture
def local_run(tmp_path: Path) -> Iterator[LocalRun]:
    yield from _local_run(tmp_path, providers=True)


@pytest.fixture
def with_vonage(tmp_path: Path) -> Iterator[LocalRun]:
    yield from _local_run(tmp_path, providers=True, sms_provider="vonage")


@pytest.fixture
def without_providers(tmp_path: Path) -> Iterator[LocalRun]:
    yield from _local_run(tmp_path, providers=False)


def _message(channel: Channel, to: str, text: str, subject: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"local-run-{channel.value}", channel=channel, to=to, text=text, subject=subject
    )


async def _send_sms(env: dict[str, str]) -> Outcome:
    values = {
        name.removeprefix("CIVICLOOP_SMS_").lower(): value
        for name, value in env.items()
        if name.startswith("CIVICLOOP_SMS_") and name != "CIVICLOOP_SMS_PROVIDER"
    }
    # The secret fields, by their fixed names (libs/channels/src/civicloop_channels/environment.py reads the same).
    secrets = {
        "CIVICLOOP_SECRET_SMS_AUTH_TOKEN": "auth_token",
        "CIVICLOOP_SECRET_SMS_API_KEY_SECRET": "api_key_secret",
        "CIVICLOOP_SECRET_SMS_API_SECRET": "api_secret",
    }
    values.update({field: env[name] for name, field in secrets.items() if name in env})
    sender = sms_sender(Channel.sms, sms_settings(env["CIVICLOOP_SMS_PROVIDER"], values))
    try:
        result = await sender.send(
            _message(Channel.sms, "+12135550100", "Your request 7KQ4-MZT2 was received.")
        )
    finally:
        await sender.aclose()
    return result.outcome


async def _send_bulletin(env: dict[str, str]) -> Outcome:
    sender = GovDeliverySender(
        GovDeliverySettings(
            base_url=env["CIVICLOOP_GOVDELIVERY_BASE_URL"],
            account_code=env["CIVICLOOP_GOVDELIVERY_ACCOUNT_CODE"],
            username=env["CIVICLOOP_GOVDELIVERY_USERNAME"],
            password=env["CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD"],
        )
    )
    try:
        message = _message(
            Channel.govdelivery, "DEMO_311_CAT_POTHOLE", "Potholes on Main St filled.", "Potholes"
        )
        result = await sender.send(message)
    finally:
        await sender.aclose()
    return result.outcome


def _vapid_public_key(private_b64: str) -> str:
    raw = base64.urlsafe_b64decode(private_b64 + "=" * (-len(private_b64) % 4))
    public = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()).public_key()
    point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


async def _push(env: dict[str, str], push_url: str) -> Outcome:
    private_key = env["CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY"]
    async with httpx.AsyncClient() as client:
        # What a resident's browser does: subscribe for the county's application server key.
        answer = await client.post(
            f"{push_url}/subscriptions", json={"applicationServerKey": _vapid_public_key(private_key)}
        )
        answer.raise_for_status()
    sender = WebPushSender(
        WebPushSettings(vapid_private_key=private_key, vapid_subject=env["CIVICLOOP_WEB_PUSH_VAPID_SUBJECT"])
    )
    try:
        result = await sender.send(_message(Channel.push, json.dumps(answer.json()), "Visit scheduled"))
    finally:
        await sender.aclose()
    return result.outcome


def test_start_supervises_the_providers_and_the_services_reach_each_with_the_settings_exported(
    local_run: LocalRun,
) -> None:
    started = local_run.script("start")
    assert started.returncode == 0, started.stderr

    # Each provider is a process of the supervisor's, serving its own port(s).
    ports = local_run.ports
    assert listener_pid(ports["sms"]) == local_run.pid("twilio")
    assert listener_pid(ports["push"]) == local_run.pid("push-service")
    assert listener_pid(ports["govdelivery"]) == local_run.pid("govdelivery")
    assert listener_pid(ports["mail_web"]) == listener_pid(ports["mail_smtp"]) == local_run.pid("mailbox")
    # The secrets reach the providers from the environment, never written into the configuration file.
    env = local_run.service_env()
    config = (local_run.run_dir / "supervisord.conf").read_text()
    assert env["CIVICLOOP_SECRET_SMS_AUTH_TOKEN"] not in config
    assert env["CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD"] not in config

    # SMS: the one naming (CIVICLOOP_SMS_*, the auth token as a secret) makes a Twilio sender to the local Twilio.
    assert env["CIVICLOOP_SMS_PROVIDER"] == "twilio"
    assert asyncio.run(_send_sms(env)) is Outcome.accepted
    outbox = httpx.get(f"http://127.0.0.1:{ports['sms']}/local/outbox").json()
    assert [(m["to"], m["body"]) for m in outbox] == [
        ("+12135550100", "Your request 7KQ4-MZT2 was received.")
    ]

    # Mail: intake's SMTP settings point at the mailbox, which keeps the message as an .eml file and lists it.
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "no-reply@demo.example", "resident@example.org", "Your code"
    mail.set_content("Your code is in this message.")
    with smtplib.SMTP(env["CIVICLOOP_STAFF_SMTP_HOST"], int(env["CIVICLOOP_STAFF_SMTP_PORT"])) as smtp:
        smtp.send_message(mail)
    kept = list((local_run.run_dir / "mail").glob("*.eml"))
    assert len(kept) == 1
    assert b"Subject: Your code" in kept[0].read_bytes()
    assert "Your code" in httpx.get(f"http://127.0.0.1:{ports['mail_web']}/").text
    assert env["CIVICLOOP_EMAIL_PORT"] == env["CIVICLOOP_STAFF_SMTP_PORT"]

    # govDelivery: the account has the demo catalogue's topics, and takes the exported API user.
    assert asyncio.run(_send_bulletin(env)) is Outcome.accepted

    # Web push: the exported VAPID key signs a push the local push service checks and decrypts.
    assert asyncio.run(_push(env, f"http://127.0.0.1:{ports['push']}")) is Outcome.accepted
    received = httpx.get(f"http://127.0.0.1:{ports['push']}/received").json()
    assert [r["payload"]["body"] for r in received] == ["Visit scheduled"]

    status = local_run.script("status").stdout
    assert f"mailbox: ready on :{ports['mail_web']},{ports['mail_smtp']}" in status
    assert f"govdelivery: ready on :{ports['govdelivery']}" in status
    # The welcome says where each is read.
    welcome = local_run.script("providers").stdout
    assert f"http://127.0.0.1:{ports['mail_web']}/" in welcome and str(local_run.run_dir / "mail") in welcome
    assert f"http://127.0.0.1:{ports['sms']}/local/outbox" in welcome

    pids = [local_run.pid(name) for name in PROVIDERS]
    stopped = local_run.script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not any(alive(pid) for pid in pids)
    assert not any(listening(port) for port in ports.values())


def test_the_sms_provider_is_configuration_vonage_gets_its_own_local_server_and_settings(
    with_vonage: LocalRun,
) -> None:
    started = with_vonage.script("start")

    assert started.returncode == 0, started.stderr
    assert listener_pid(with_vonage.ports["sms"]) == with_vonage.pid("vonage")
    assert "twilio" not in with_vonage.script("status").stdout
    env = with_vonage.service_env()
    assert env["CIVICLOOP_SMS_PROVIDER"] == "vonage"
    assert "CIVICLOOP_SMS_ACCOUNT_SID" not in env  # a Twilio setting Vonage's settings would refuse
    assert asyncio.run(_send_sms(env)) is Outcome.accepted
    outbox = httpx.get(f"http://127.0.0.1:{with_vonage.ports['sms']}/local/outbox").json()
    assert [m["text"] for m in outbox] == ["Your request 7KQ4-MZT2 was received."]


def test_a_second_start_keeps_the_same_provider_processes_and_secrets(local_run: LocalRun) -> None:
    assert local_run.script("start").returncode == 0
    pids = {name: local_run.pid(name) for name in PROVIDERS}
    token = local_run.service_env()["CIVICLOOP_SECRET_SMS_AUTH_TOKEN"]

    again = local_run.script("start")

    assert again.returncode == 0, again.stderr
    assert {name: local_run.pid(name) for name in PROVIDERS} == pids
    assert (local_run.run_dir / "secrets" / "twilio-auth-token").read_text().strip() == token


def test_start_refuses_when_the_mailbox_smtp_port_is_taken(local_run: LocalRun) -> None:
    with smtplib_blocker(local_run.ports["mail_smtp"]):
        started = local_run.script("start")

    assert started.returncode != 0
    assert f"mailbox: port {local_run.ports['mail_smtp']} is taken" in started.stderr
    assert not (local_run.run_dir / "supervisord.pid").exists()


def test_without_local_providers_none_starts_and_no_provider_setting_is_exported(
    without_providers: LocalRun,
) -> None:
    started = without_providers.script("start")

    assert started.returncode == 0, started.stderr
    env = without_providers.service_env()
    assert not [name for name in env if name.startswith(("CIVICLOOP_SMS_", "CIVICLOOP_STAFF_SMTP_"))]
    assert not any(listening(port) for port in without_providers.ports.values())


@contextlib.contextmanager
def smtplib_blocker(port: int) -> Iterator[None]:
    """Another process listening on the port, as a mail server left running by hand would."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\n"
            "s.listen()\nprint('up', flush=True)\ntime.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "up"
        yield
    finally:
        holder.kill()
        holder.wait(10)


def test_the_default_provider_ports_are_distinct_and_below_the_ephemeral_range() -> None:
    # As the broker's and the database's (docs/operations.md): a port in the range can be taken by a client.
    script = SERVICES_SH.read_text()
    defaults = {
        name: int(port) for name, port in re.findall(r"\$\{(CIVICLOOP_LOCAL_\w+_PORT):-(\d+)\}", script)
    }
    services = {int(port) for port in re.findall(r'^  "[\w-]+\|(\d+)\|', script, re.MULTILINE)}
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])

    assert len(defaults) == 6
    assert len(set(defaults.values())) == len(defaults)
    assert not set(defaults.values()) & services
    assert max(defaults.values()) < low
