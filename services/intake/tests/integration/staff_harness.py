"""An intake for the staff tests: the real broker and database, a real SMTP server (aiosmtpd) on 127.0.0.1 for the
reset links, and the first admin seeded as the operator's CLI does it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pyotp
from asgi_lifespan import LifespanManager
from civicloop_events import Event
from civicloop_events.topics import Topics
from civicloop_intake.bootstrap import Intake, StaffServices
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.service_layer.staff_seed import seed_staff
from civicloop_intake.settings import IntakeSettings
from civicloop_staff.roles import Role
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from intake_harness import intake_settings

ADMIN_PASSWORD = "correct horse battery staple"
ADMIN_TOTP = pyotp.random_base32()
SIGN_IN = "/api/v1/staff/auth/sign-in"


@dataclass
class StaffHarness:
    client: httpx.AsyncClient
    intake: Intake
    settings: IntakeSettings
    topics: Topics
    smtp: SmtpInbox
    admin_email: str

    def email(self, local: str) -> str:
        """An address of this test alone (the database is the run's, shared by every test)."""
        return f"{local}@{self.topics.prefix.strip('.')}.example"

    @property
    def staff(self) -> StaffServices:
        assert self.intake.staff is not None
        return self.intake.staff

    async def config_events(self) -> list[Event[Any]]:
        return await read_all_events(self.settings.kafka_bootstrap, self.topics.jurisdiction_config, 1)

    async def sign_in(self, email: str, password: str, code: str | None = None) -> httpx.Response:
        body = {"email": email, "password": password} | ({"code": code} if code else {})
        return await self.client.post(SIGN_IN, json=body)

    async def folded(self, staff_id: Any, what: str = "the account folded") -> None:
        await eventually(lambda: self.staff.store.account(staff_id), what=what)

    async def admin_token(self) -> str:
        answer = await self.sign_in(self.admin_email, ADMIN_PASSWORD, pyotp.TOTP(ADMIN_TOTP).now())
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    async def mail_to(self, to: str) -> EmailMessage:
        async def arrived() -> EmailMessage | None:
            return next((m for m in self.smtp.messages if m["To"] == to), None)

        return await eventually(arrived, what=f"a mail to {to}")

    @staticmethod
    def link_token(mail: EmailMessage) -> str:
        body = mail.get_content()
        found = re.search(r"/staff/reset#([A-Za-z0-9_-]+)", body)
        assert found, "the mail holds a reset link with its token in the fragment"
        return found.group(1)


@asynccontextmanager
async def staff_intake(
    dsn: str, bootstrap: str, topics: Topics, **overrides: Any
) -> AsyncIterator[StaffHarness]:
    with smtp_inbox() as smtp:
        settings = intake_settings(dsn, bootstrap, topics, staff_smtp_port=smtp.port, **overrides)
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30) as client:
                admin_email = f"Admin@{topics.prefix.strip('.')}.example"
                harness = StaffHarness(client, app.state.service, settings, topics, smtp, admin_email)
                admin_id = await seed_staff(
                    harness.staff.admin,
                    email=admin_email,
                    roles=[Role.admin],
                    jurisdiction_id="demo",
                    password=ADMIN_PASSWORD,
                    totp_secret=ADMIN_TOTP,
                    now=datetime.now(UTC),
                )
                await harness.folded(admin_id, "the first admin folded")
                yield harness
