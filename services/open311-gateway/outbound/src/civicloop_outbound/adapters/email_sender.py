"""Level 1, no integration: the report emailed to the body (plain text and HTML, every detail, a link back).

The body's `email` receives it; a high-priority report is copied to its `priority_email` (Cc). For a body reached by
another method, a high-priority report's copy is a queue row of its own (`purpose = priority_copy`) addressed to
`priority_email` only. An `update` row (an agent's reopening or public comment, a transfer notice) is a short plain
email to the body's address with the request number and the public note (`build_update_message`). The `Message-ID` is the row's delivery id, so a repeat after a crash is recognisable.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib
from civicloop_events.payloads import Priority, SendMethod
from civicloop_runtime.secrets import SecretNotFound, resolve_secret
from jinja2 import Environment, StrictUndefined, select_autoescape
from jinja2.loaders import DictLoader

from civicloop_outbound.domain.backend_updates import UpdateKind
from civicloop_outbound.domain.ports import (
    BodyRecord,
    OutboundItem,
    PermanentFailure,
    Sender,
    SendResult,
    TemporaryFailure,
    Undeliverable,
)
from civicloop_outbound.settings import OutboundSettings

_TEXT = """\
{% if high %}HIGH PRIORITY
{% endif %}{% if copy %}Copy for {{ body.name }}'s priority address.
{% endif %}A report for {{ body.name }}.

Request number: {{ p.request_id }}
Category:       {{ p.service_name }} ({{ p.service_code }})
Submitted:      {{ p.submitted_at.strftime("%Y-%m-%d %H:%M UTC") }}
Priority:       {{ p.priority.value }}
{% if p.team %}Team:           {{ p.team }}
{% endif %}{% if p.analysis_codes %}Analysis codes: {{ p.analysis_codes | join(", ") }}
{% endif %}
Description:
{{ p.description or "(none given)" }}

Location:
{% if p.location.address_string %}  Address: {{ p.location.address_string }}
{% endif %}{% if p.location.address_id %}  Address id: {{ p.location.address_id }}
{% endif %}{% if p.location.lat is not none %}  Coordinates: {{ p.location.lat }}, {{ p.location.long }}
  Map: {{ map_url }}
{% endif %}{% if p.area_ids %}  Area: {{ p.area_ids | join(", ") }}
{% endif %}{% if p.attributes %}
Details:
{% for code, values in p.attributes.items() %}  {{ code }}: {{ values | join(", ") }}
{% endfor %}{% endif %}{% if p.media_urls %}
Photos:
{% for url in p.media_urls %}  {{ url }}
{% endfor %}{% endif %}{% if contact %}
Reported by:
{% if contact.name %}  Name: {{ contact.name }}
{% endif %}{% if contact.email %}  Email: {{ contact.email }}
{% endif %}{% if contact.phone %}  Phone: {{ contact.phone }}
{% endif %}{% endif %}
See the request: {{ item.request_url }}

Sent by CivicLoop. Reply to the jurisdiction's 311 team with the request number above.
"""

_HTML = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif">
{% if high %}<p style="color:#b00020;font-weight:bold">HIGH PRIORITY</p>{% endif %}
{% if copy %}<p>Copy for {{ body.name }}'s priority address.</p>{% endif %}
<h1 style="font-size:1.3em">{{ p.service_name }} &mdash; {{ p.request_id }}</h1>
<table>
<tr><th align="left">Request number</th><td>{{ p.request_id }}</td></tr>
<tr><th align="left">Category</th><td>{{ p.service_name }} ({{ p.service_code }})</td></tr>
<tr><th align="left">Submitted</th><td>{{ p.submitted_at.strftime("%Y-%m-%d %H:%M UTC") }}</td></tr>
<tr><th align="left">Priority</th><td>{{ p.priority.value }}</td></tr>
{% if p.team %}<tr><th align="left">Team</th><td>{{ p.team }}</td></tr>{% endif %}
{% if p.analysis_codes %}<tr><th align="left">Analysis codes</th><td>{{ p.analysis_codes | join(", ") }}</td></tr>{% endif %}
</table>
<h2 style="font-size:1.1em">Description</h2>
<p>{{ p.description or "(none given)" }}</p>
<h2 style="font-size:1.1em">Location</h2>
<ul>
{% if p.location.address_string %}<li>Address: {{ p.location.address_string }}</li>{% endif %}
{% if p.location.address_id %}<li>Address id: {{ p.location.address_id }}</li>{% endif %}
{% if p.location.lat is not none %}<li>Coordinates: {{ p.location.lat }}, {{ p.location.long }}
 (<a href="{{ map_url }}">map</a>)</li>{% endif %}
{% if p.area_ids %}<li>Area: {{ p.area_ids | join(", ") }}</li>{% endif %}
</ul>
{% if p.attributes %}<h2 style="font-size:1.1em">Details</h2>
<table>{% for code, values in p.attributes.items() %}
<tr><th align="left">{{ code }}</th><td>{{ values | join(", ") }}</td></tr>{% endfor %}
</table>{% endif %}
{% if p.media_urls %}<h2 style="font-size:1.1em">Photos</h2>
<ul>{% for url in p.media_urls %}<li><a href="{{ url }}">{{ url }}</a></li>{% endfor %}</ul>{% endif %}
{% if contact %}<h2 style="font-size:1.1em">Reported by</h2><ul>
{% if contact.name %}<li>Name: {{ contact.name }}</li>{% endif %}
{% if contact.email %}<li>Email: {{ contact.email }}</li>{% endif %}
{% if contact.phone %}<li>Phone: {{ contact.phone }}</li>{% endif %}
</ul>{% endif %}
<p><a href="{{ item.request_url }}">See the request in CivicLoop</a></p>
<p style="color:#666">Sent by CivicLoop. Reply to the jurisdiction's 311 team with the request number above.</p>
</body></html>
"""

# An agent's update on a request the body already has: the number, what happened, the public note. Plain text only.
_UPDATE_TEXT = """\
{% if u.kind.value == "reopen" %}Request {{ p.request_id }} has been reopened.
{% elif u.kind.value == "transfer" %}Request {{ p.request_id }} has moved to {{ u.new_body_name }}.
{% else %}A new comment on request {{ p.request_id }}.
{% endif %}
Request number: {{ p.request_id }}
Category:       {{ p.service_name }} ({{ p.service_code }})
{% if p.location.address_string %}Address:        {{ p.location.address_string }}
{% endif %}
{{ u.text }}
{% if u.media_urls %}
Photos:
{% for url in u.media_urls %}  {{ url }}
{% endfor %}{% endif %}
See the request: {{ item.request_url }}

Sent by CivicLoop. Reply to the jurisdiction's 311 team with the request number above.
"""

_ENV = Environment(
    loader=DictLoader({"report.txt": _TEXT, "report.html": _HTML, "update.txt": _UPDATE_TEXT}),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)


def map_url(lat: float, long: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=18/{lat}/{long}"


def subject_of(item: OutboundItem) -> str:
    p = item.payload
    if (u := p.update) is not None:
        what = {
            UpdateKind.reopen: "reopened",
            UpdateKind.comment: "new comment",
            UpdateKind.transfer: f"moved to {u.new_body_name}",
        }[u.kind]
        return f"Request {p.request_id} {what}: {p.service_name}"
    prefix = "[HIGH PRIORITY] " if p.priority is Priority.high else ""
    return f"{prefix}Request {p.request_id}: {p.service_name}"


def recipients(body: BodyRecord, item: OutboundItem) -> tuple[list[str], list[str]]:
    """(to, cc) of the message."""
    priority = item.payload.priority_email
    if item.purpose == "priority_copy":
        return ([priority] if priority else []), []
    if item.purpose == "update":
        return ([body.definition.email] if body.definition.email else []), []
    to = [body.definition.email] if body.definition.email else []
    cc = [priority] if priority and priority not in to else []
    return to, cc


def _headers(msg: EmailMessage, item: OutboundItem, *, mail_from: str) -> None:
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "civicloop.example"
    msg["Message-ID"] = f"<{item.delivery_id}.{item.purpose}@{domain}>"
    msg["X-CivicLoop-Request"] = item.payload.request_id


def build_update_message(body: BodyRecord, item: OutboundItem, *, mail_from: str) -> EmailMessage:
    """An agent's reopening, public comment or a transfer notice, for a body that has the request by email."""
    to, _ = recipients(body, item)
    if not to:
        raise Undeliverable(f"body {body.body_id!r} has no email address for updates")
    msg = EmailMessage()
    msg["Subject"] = subject_of(item)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    _headers(msg, item, mail_from=mail_from)
    msg["X-CivicLoop-Update"] = item.payload.update.kind.value if item.payload.update else ""
    context = {"p": item.payload, "u": item.payload.update, "item": item}
    msg.set_content(_ENV.get_template("update.txt").render(context))
    return msg


def build_message(body: BodyRecord, item: OutboundItem, *, mail_from: str) -> EmailMessage:
    p = item.payload
    if item.purpose == "update":
        return build_update_message(body, item, mail_from=mail_from)
    to, cc = recipients(body, item)
    if not to:
        raise PermanentFailure(f"body {body.body_id!r} has no email address for this report")
    context = {
        "p": p,
        "body": body.definition,
        "item": item,
        "contact": item.contact,
        "subject": subject_of(item),
        "high": p.priority is Priority.high,
        "copy": item.purpose == "priority_copy",
        "map_url": map_url(p.location.lat, p.location.long)
        if p.location.lat is not None and p.location.long is not None
        else "",
    }
    msg = EmailMessage()
    msg["Subject"] = subject_of(item)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    _headers(msg, item, mail_from=mail_from)
    if p.priority is Priority.high:
        msg["X-Priority"] = "1"
        msg["Importance"] = "high"
    msg.set_content(_ENV.get_template("report.txt").render(context))
    msg.add_alternative(_ENV.get_template("report.html").render(context), subtype="html")
    return msg


class EmailSender(Sender):
    method = SendMethod.email

    def __init__(self, settings: OutboundSettings, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.environ = environ

    def destination(self, body: BodyRecord, item: OutboundItem) -> str:
        to, cc = recipients(body, item)
        return ", ".join(to + cc)

    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        s = self.settings
        message = build_message(body, item, mail_from=s.mail_from)
        password = None
        if s.smtp_password_ref:
            try:
                password = resolve_secret(s.smtp_password_ref, self.environ)
            except SecretNotFound as exc:
                raise TemporaryFailure(str(exc)) from exc
        try:
            _refused, said = await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                username=s.smtp_username,
                password=password,
                timeout=s.outbound_send_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(500 <= c < 600 for c in codes):
                raise PermanentFailure(f"recipients refused: {exc}") from exc
            raise TemporaryFailure(f"recipients refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"SMTP {exc.code}: {exc.message}") from exc
            raise TemporaryFailure(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"SMTP: {type(exc).__name__}: {exc}") from exc
        return SendResult(destination=self.destination(body, item), answer=said)
