"""Staff mail over SMTP (`aiosmtplib`): the password reset link. The link is a secret: in no log line or error."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from civicloop_runtime.secrets import resolve_secret

from civicloop_intake.service_layer.staff_ports import StaffMail


class SmtpStaffMail(StaffMail):
    def __init__(
        self,
        *,
        host: str,
        port: int,
        mail_from: str,
        tls: str = "none",
        username: str | None = None,
        password_ref: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.host, self.port, self.mail_from, self.tls = host, port, mail_from, tls
        self.username, self.password_ref, self.timeout_s = username, password_ref, timeout_s

    async def send_reset_link(self, to: str, link: str) -> None:
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = to
        message["Subject"] = "Set your CivicLoop password"
        message.set_content(
            "Someone (we hope you) asked to set the password of your CivicLoop staff account.\n\n"
            f"Open this link within 30 minutes to choose it; it works once:\n\n{link}\n\n"
            "If you did not ask, ignore this message: your password stays as it is.\n"
        )
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            username=self.username,
            password=resolve_secret(self.password_ref) if self.password_ref else None,
            timeout=self.timeout_s,
        )
