"""The county's Granicus govDelivery feed (MyPGC and the like): a status update sent as a bulletin to topics.

Not a message to one resident but a broadcast: whoever subscribed to a topic in govDelivery (a category of
problem, a council district) gets the bulletin. The Communications Cloud API v1: `POST
/api/account/{account}/bulletins/send_now.xml`, HTTP Basic auth with the account's API user, an XML `<bulletin>`
naming its topics by code; it answers the bulletin's id (`to-param`).

`OutgoingMessage.to` holds the topic codes, comma-separated (`topics_to`): one bulletin to the category's topic and
the district's reaches a subscriber of both once, as govDelivery sends one copy per subscriber and bulletin.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import httpx
from defusedxml import ElementTree as SafeET

from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult

PROVIDER = "govdelivery"


@dataclass(frozen=True)
class GovDeliverySettings:
    base_url: str  # https://api.govdelivery.com (https://stage-api.govdelivery.com for the staging account)
    account_code: str  # e.g. "MDPGC": the code in the URL of the account's administration pages
    username: str  # the API user's login
    password: str
    from_address_id: str | None = (
        None  # a sender address configured in the account; the account's default if None
    )
    timeout_s: float = 15.0


@dataclass(frozen=True)
class TopicScheme:
    """Topic codes per category and district, as the county created them in govDelivery: `<ACCOUNT>_311_CAT_<CODE>`
    and `<ACCOUNT>_311_DIST_<DISTRICT>` (upper case, anything but letters and digits made an underscore)."""

    account_code: str

    def for_category(self, category_code: str) -> str:
        return f"{self.account_code}_311_CAT_{_code_part(category_code)}"

    def for_district(self, district: str) -> str:
        return f"{self.account_code}_311_DIST_{_code_part(district)}"

    def for_update(self, category_code: str | None, district: str | None) -> tuple[str, ...]:
        """The topics a request's update is sent to: its category's and its district's, those it has."""
        topics = []
        if category_code:
            topics.append(self.for_category(category_code))
        if district:
            topics.append(self.for_district(district))
        return tuple(topics)


def _code_part(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_")


def topics_to(codes: tuple[str, ...]) -> str:
    """The `to` of an `OutgoingMessage` for these topics."""
    return ",".join(codes)


def topics_of(to: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in to.split(",") if code.strip())


def bulletin_xml(
    message: OutgoingMessage, topics: tuple[str, ...], from_address_id: str | None = None
) -> bytes:
    """The `<bulletin>` the API takes: subject, an HTML body (the message's, or its text escaped), the topics; opens
    and clicks are not tracked (a resident reading about a pothole is nobody's metric)."""
    bulletin = ET.Element("bulletin")
    ET.SubElement(bulletin, "subject").text = message.subject or message.text.split("\n", 1)[0]
    ET.SubElement(bulletin, "body").text = message.html or _as_html(message.text)
    if from_address_id:
        ET.SubElement(bulletin, "from_address_id").text = from_address_id
    for flag in ("open_tracking", "click_tracking", "publish_rss"):
        ET.SubElement(bulletin, flag, type="boolean").text = "false"
    listed = ET.SubElement(bulletin, "topics", type="array")
    for code in topics:
        ET.SubElement(ET.SubElement(listed, "topic"), "code").text = code
    encoded: bytes = ET.tostring(bulletin, encoding="utf-8", xml_declaration=True)
    return encoded


def _as_html(text: str) -> str:
    return "".join(
        f"<p>{html.escape(paragraph).replace(chr(10), '<br>')}</p>" for paragraph in text.split("\n\n")
    )


def result_of_response(status: int, body: bytes, retry_after: str | None) -> SendResult:
    """What govDelivery's answer means for the notifier."""
    if 200 <= status < 300:
        return SendResult(Outcome.accepted, PROVIDER, provider_id=_text_of(body, "to-param"))
    error = f"govDelivery answered {status}"
    code = _text_of(body, "code")
    if code:
        error += f" ({code})"
    if status == 429 or status >= 500:
        seconds = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
        return SendResult(Outcome.failed, PROVIDER, error=error, retry_after_s=seconds)
    if status in (401, 403):
        # The county's credentials, not this bulletin: once they are fixed the same bulletin goes.
        return SendResult(Outcome.failed, PROVIDER, error=f"{error}: the API user was not accepted")
    # 400, 404 (no such account), 422 (no such topic, a bulletin it will not take): sending it again changes nothing.
    return SendResult(Outcome.refused, PROVIDER, error=error)


def _text_of(body: bytes, tag: str) -> str | None:
    try:
        root = SafeET.fromstring(body)
    except (
        ET.ParseError,
        ValueError,
    ):  # not XML (a proxy's error page), or XML defusedxml refuses: no detail
        return None
    found = root.find(f".//{tag}") if root.tag != tag else root
    return found.text.strip() if found is not None and found.text else None


class GovDeliverySender:
    """A `ChannelSender` that sends each message as a bulletin to the topics in its `to`.

    The API takes no idempotency key: a timeout after govDelivery received the bulletin and a retry may send it
    twice. The notifier's own key keeps replays and restarts from resending what was accepted.
    """

    channel = Channel.govdelivery

    def __init__(self, settings: GovDeliverySettings) -> None:
        self._settings = settings
        self._client = httpx.AsyncClient(
            base_url=f"{settings.base_url.rstrip('/')}/api/account/{settings.account_code}/",
            auth=httpx.BasicAuth(settings.username, settings.password),
            timeout=settings.timeout_s,
            headers={"Accept": "application/xml"},
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        topics = topics_of(message.to)
        if not topics:
            return SendResult(Outcome.refused, PROVIDER, error="no govDelivery topic to send to")
        try:
            response = await self._client.post(
                "bulletins/send_now.xml",
                content=bulletin_xml(message, topics, self._settings.from_address_id),
                headers={"Content-Type": "application/xml; charset=utf-8"},
            )
        except httpx.TimeoutException:
            return SendResult(Outcome.failed, PROVIDER, error="govDelivery did not answer in time")
        except httpx.TransportError as unreachable:
            return SendResult(
                Outcome.failed, PROVIDER, error=f"govDelivery unreachable ({type(unreachable).__name__})"
            )
        return result_of_response(response.status_code, response.content, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        await self._client.aclose()
