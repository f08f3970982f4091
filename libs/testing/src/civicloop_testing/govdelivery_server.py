"""A Granicus govDelivery account on 127.0.0.1 for tests: the Communications Cloud API's "send a bulletin now".

`POST /api/account/{account}/bulletins/send_now[.xml]` with HTTP Basic auth and an XML `<bulletin>` (subject,
body, topics by code) is checked as the API checks it (the account, the API user, known topics, a subject and a
body) and kept per topic; the answer is the API's `<bulletin>` with its `to-param`. Subscribers can be put on
topics: each gets one copy of a bulletin however many of its topics they follow, as govDelivery sends it.

Faults on demand: `answer_with(status, retry_after, times)`, `hang_for(seconds)`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, tostring

import uvicorn
from defusedxml import ElementTree as SafeET
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from civicloop_testing.threaded_server import serve_in_thread


@dataclass(frozen=True)
class Bulletin:
    id: str
    subject: str
    body: str
    topics: tuple[str, ...]
    from_address_id: str | None
    flags: dict[str, str]  # open_tracking, click_tracking, publish_rss, ... as sent


@dataclass
class _Fault:
    status: int
    retry_after: str | None
    times: int


@dataclass
class GovDeliveryAccount:
    account_code: str
    username: str
    password: str
    topics: set[str] = field(default_factory=set)
    base_url: str = ""
    attempts: int = 0  # every POST that reached send_now, whatever it was answered
    _bulletins: list[Bulletin] = field(default_factory=list)
    _subscribers: dict[str, set[str]] = field(default_factory=dict)
    _faults: list[_Fault] = field(default_factory=list)
    _hang_s: float = 0.0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(7_895_001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what a test does ---------------------------------------------------------------------------------------

    def add_topics(self, *codes: str) -> None:
        with self._lock:
            self.topics.update(codes)

    def subscribe(self, subscriber: str, *topics: str) -> None:
        with self._lock:
            self._subscribers.setdefault(subscriber, set()).update(topics)

    def answer_with(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Fault(status, retry_after, times))

    def hang_for(self, seconds: float) -> None:
        with self._lock:
            self._hang_s = seconds

    @property
    def bulletins(self) -> list[Bulletin]:
        with self._lock:
            return list(self._bulletins)

    def bulletins_for(self, topic: str) -> list[Bulletin]:
        return [b for b in self.bulletins if topic in b.topics]

    def inbox(self, subscriber: str) -> list[Bulletin]:
        """What a subscriber received: each bulletin to any of their topics, once."""
        with self._lock:
            followed = set(self._subscribers.get(subscriber, ()))
        return [b for b in self.bulletins if followed & set(b.topics)]

    # -- the API ------------------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        account = "/api/account/{account}"
        return Starlette(
            routes=[
                Route(f"{account}/bulletins/sent.xml", self._sent, methods=["GET"]),
                Route(f"{account}/bulletins/{{action}}", self._send_now, methods=["POST"]),
            ]
        )

    async def _sent(self, request: Request) -> Response:
        """The API's list of sent bulletins (newest first), with each one's topics and body, to read them by hand."""
        if not self._authorised(request.headers.get("authorization", "")):
            return _errors(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="govDelivery API"'})
        if request.path_params["account"] != self.account_code:
            return _errors(404, "Account not found")
        listed = Element("bulletins", type="array")
        for bulletin in reversed(self.bulletins):
            sent = SubElement(listed, "bulletin")
            SubElement(sent, "id").text = bulletin.id
            SubElement(sent, "subject").text = bulletin.subject
            SubElement(sent, "body").text = bulletin.body
            topics = SubElement(sent, "topics", type="array")
            for code in bulletin.topics:
                SubElement(SubElement(topics, "topic"), "code").text = code
        return Response(tostring(listed, encoding="unicode"), 200, media_type="application/xml")

    async def _send_now(self, request: Request) -> Response:
        if request.path_params["action"] not in ("send_now", "send_now.xml"):
            return _errors(404, "Not found")
        with self._lock:
            self.attempts += 1
            hang, fault = self._hang_s, self._next_fault()
        if hang:
            await asyncio.sleep(hang)  # the provider's own slowness, which a client's timeout must cut short
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return Response(status_code=fault.status, headers=headers)
        if not self._authorised(request.headers.get("authorization", "")):
            return _errors(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="govDelivery API"'})
        if request.path_params["account"] != self.account_code:
            return _errors(404, "Account not found")
        if not request.headers.get("content-type", "").startswith(("application/xml", "text/xml")):
            return _errors(415, "Bulletins are sent as XML")
        try:
            root = SafeET.fromstring(await request.body())
        except (SafeET.ParseError, ValueError):
            return _errors(400, "The request body is not well-formed XML")
        if root.tag != "bulletin":
            return _errors(422, "Expected a bulletin")
        return self._keep(root)

    def _keep(self, root: Element) -> Response:
        subject, body = _text(root, "subject"), _text(root, "body")
        topics = tuple(code for code in (_text(t, "code") for t in root.findall("./topics/topic")) if code)
        if not subject or not body:
            return _errors(422, "A bulletin needs a subject and a body")
        if not topics:
            return _errors(422, "A bulletin needs at least one topic or category")
        with self._lock:
            unknown = [code for code in topics if code not in self.topics]
            if unknown:
                return _errors(422, f"Topic not found: {unknown[0]}")
            bulletin_id = str(next(self._ids))
            flags = {child.tag: child.text or "" for child in root if child.get("type") == "boolean"}
            bulletin = Bulletin(bulletin_id, subject, body, topics, _text(root, "from_address_id"), flags)
            self._bulletins.append(bulletin)
            subscribers = sum(1 for followed in self._subscribers.values() if followed & set(topics))
        uri = f"/api/account/{self.account_code}/bulletins/{bulletin_id}"
        answer = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<bulletin>'
            f"<to-param>{bulletin_id}</to-param><bulletin-uri>{uri}.xml</bulletin-uri>"
            f'<link rel="self" href="{uri}"/><total-subscribers>{subscribers}</total-subscribers>'
            f'<link rel="details" href="/api/account/{self.account_code}/bulletin_details/{bulletin_id}"/>'
            "</bulletin>"
        )
        return Response(answer, 200, media_type="application/xml")

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.username, self.password)

    def _next_fault(self) -> _Fault | None:
        while self._faults and self._faults[0].times <= 0:
            self._faults.pop(0)
        if not self._faults:
            return None
        self._faults[0].times -= 1
        return self._faults[0]


def _text(element: Element, tag: str) -> str | None:
    found = element.find(tag)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _errors(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    escaped = message.replace("&", "&amp;").replace("<", "&lt;")
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<errors><error>{escaped}</error></errors>'
    return Response(body, status, headers=headers, media_type="application/xml")


@contextmanager
def govdelivery_account(account_code: str, username: str, password: str) -> Iterator[GovDeliveryAccount]:
    """A govDelivery account's API on 127.0.0.1:<free port> for the block, taking that API user."""
    account = GovDeliveryAccount(account_code, username, password)
    with serve_in_thread(account.app()) as base_url:
        account.base_url = base_url
        yield account


def main() -> None:
    """`python -m civicloop_testing.govdelivery_server --port 24081 --account MDPGC --user U --password P --topics
    MDPGC_311_CAT_POTHOLE ...`: the account's API for a local run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topics", nargs="*", default=[])
    args = parser.parse_args()
    account = GovDeliveryAccount(args.account, args.user, args.password, set(args.topics))
    account.base_url = f"http://127.0.0.1:{args.port}"
    uvicorn.run(account.app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
