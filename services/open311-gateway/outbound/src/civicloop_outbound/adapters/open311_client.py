"""An Open311 GeoReport v2 client over httpx, for one back-end connection (CHECKLIST §10).

Errors are sorted for the sender: a 4xx answer is the back-end refusing this request (permanent), except 429, which
is temporary and carries `Retry-After` (§10.6); a 5xx answer, a timeout or a refused connection is temporary. The
raw body travels with the error, since real error bodies are often not parseable (ER-06).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from civicloop_events.payloads import Open311Connection
from civicloop_open311 import wire
from civicloop_open311.dates import format_w3c
from civicloop_open311.wire import (
    OutgoingRequest,
    PostAnswer,
    RemoteRequest,
    RemoteUpdate,
    UnreadableDocument,
)
from civicloop_runtime.secrets import SecretNotFound, resolve_secret, secret_env_name  # noqa: F401

USER_AGENT = "CivicLoop-Open311-client/1"


@dataclass(frozen=True)
class ListKind:
    """A list the client reads by date window: its name (what is learnt about it is kept under it), the resource
    and the parameters that bound the window."""

    name: str
    resource: str
    after: str
    before: str


CREATED_REQUESTS = ListKind("requests", "requests", "start_date", "end_date")
UPDATED_REQUESTS = ListKind("requests_updated", "requests", "updated_after", "updated_before")
REQUEST_UPDATES = ListKind("updates", "servicerequestupdates", "start_date", "end_date")


@dataclass(frozen=True)
class OutgoingUpdate:
    """One POST servicerequestupdates: the back-end's id of the request and what happened to it."""

    service_request_id: str
    update_id: str
    status: str  # upper case (CHECKLIST ST-02)
    updated_datetime: datetime
    description: str
    media_urls: Sequence[str] = ()


@dataclass(frozen=True)
class UpdateAnswer:
    status: int
    update_id: str | None  # the back-end's id of the update, when it gave one


class Open311Failure(Exception):
    """A call that did not succeed; `status` is None when no HTTP answer came."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: bytes = b"",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after_s = retry_after_s


class Open311Temporary(Open311Failure):
    """Worth retrying later: 5xx, 429, timeouts, connection errors, an unreadable 2xx."""


class Open311Permanent(Open311Failure):
    """The back-end refused the request itself (4xx other than 429): retrying the same request will not help."""


def resolve_api_key(ref: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The api_key a connection's `api_key_ref` names (`CIVICLOOP_SECRET_<REF>`); a missing secret is permanent."""
    if not ref:
        return None
    try:
        return resolve_secret(ref, environ)
    except SecretNotFound as exc:
        raise Open311Permanent(str(exc)) from exc


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(response: httpx.Response) -> str:
    errors = wire.remote_errors(response.content, response.headers.get("content-type"))
    if errors:
        text = "; ".join(f"{e.code + ': ' if e.code else ''}{e.description}" for e in errors)
    else:
        text = response.text[:300].strip() or "no error body"
    return f"HTTP {response.status_code} from {response.request.url.copy_with(query=None)}: {text}"[:1900]


def raise_for_answer(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = _describe(response)
    if status == 429:
        raise Open311Temporary(
            message, status=status, body=response.content, retry_after_s=_retry_after(response)
        )
    if 400 <= status < 500:
        raise Open311Permanent(message, status=status, body=response.content)
    raise Open311Temporary(
        message, status=status, body=response.content, retry_after_s=_retry_after(response)
    )


class Open311Client:
    """Calls of one back-end. `http` is shared and owned by the caller (connection pooling, timeouts)."""

    def __init__(
        self,
        connection: Open311Connection,
        http: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.connection = connection
        self.http = http
        self._api_key = api_key
        self._environ = environ
        self.base = connection.endpoint.rstrip("/")
        self.fmt = connection.format

    @property
    def api_key(self) -> str | None:
        if self._api_key is None:
            self._api_key = resolve_api_key(self.connection.api_key_ref, self._environ)
        return self._api_key

    def url(self, resource: str) -> str:
        return f"{self.base}/{resource}.{self.fmt}"

    def _query(self, **params: Any) -> list[tuple[str, str]]:
        pairs = []
        if self.connection.jurisdiction_id:
            pairs.append(("jurisdiction_id", self.connection.jurisdiction_id))
        for k, v in params.items():
            if v is None:
                continue
            pairs.append((k, format_w3c(v) if isinstance(v, datetime) else str(v)))
        return pairs

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Accept": "application/json" if self.fmt == "json" else "text/xml, application/xml",
            "User-Agent": USER_AGENT,
            **kwargs.pop("headers", {}),
        }
        try:
            response = await self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:  # refused, reset, timed out, DNS
            raise Open311Temporary(f"{type(exc).__name__} calling {url}: {exc}") from exc
        raise_for_answer(response)
        return response

    # -- POST requests, GET tokens --------------------------------------------------------------------------------
    def form(
        self, outgoing: OutgoingRequest, *, multi_valued: set[str] | frozenset[str] = frozenset()
    ) -> list[tuple[str, str]]:
        c = self.connection
        mapped = replace(
            outgoing, service_code=c.service_code_map.get(outgoing.service_code, outgoing.service_code)
        )
        return wire.request_form(
            mapped,
            jurisdiction_id=c.jurisdiction_id,
            api_key=self.api_key,
            multivaluelist_style=c.multivaluelist_style,
            id_field=c.id_field,
            extra_attributes=c.extra_attributes,
            multi_valued=multi_valued,
        )

    async def post_request(
        self, outgoing: OutgoingRequest, *, multi_valued: set[str] | frozenset[str] = frozenset()
    ) -> PostAnswer:
        body = urlencode(self.form(outgoing, multi_valued=multi_valued), encoding="utf-8").encode("ascii")
        response = await self._call(
            "POST",
            self.url("requests"),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            return wire.post_answers(response.content, response.headers.get("content-type"))
        except UnreadableDocument as exc:
            # The back-end said yes but what it said is unreadable: the id may exist there; retrying may duplicate,
            # but losing the report is worse, so the sender retries (and PR-11 asks servers to tolerate that).
            raise Open311Temporary(
                f"unreadable answer to POST requests: {exc}",
                status=response.status_code,
                body=response.content,
            ) from exc

    async def post_update(self, update: OutgoingUpdate) -> UpdateAnswer:
        """POST servicerequestupdates (CHECKLIST FX-10; not GeoReport v2 itself: many servers add it). A back-end
        without it answers 404, 405 or 501, which the caller reads from the failure's `status`."""
        pairs = self._query(
            api_key=self.api_key,
            service_request_id=update.service_request_id,
            update_id=update.update_id,
            status=update.status,
            updated_datetime=update.updated_datetime,
            description=update.description,
        )
        pairs += [("media_url", url) for url in update.media_urls]
        response = await self._call(
            "POST",
            self.url("servicerequestupdates"),
            content=urlencode(pairs, encoding="utf-8").encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            rows = wire.records(response.content, response.headers.get("content-type"))
        except UnreadableDocument:
            rows = []  # it said yes: an answer we cannot read does not undo that
        update_id = next((i for r in rows if (i := wire.as_id(r.get("update_id"))) is not None), None)
        return UpdateAnswer(status=response.status_code, update_id=update_id)

    async def resolve_token(self, token: str) -> str | None:
        """The service_request_id of a batch token, or None while the back-end is still processing (TK-03)."""
        try:
            response = await self._call(
                "GET", self.url(f"tokens/{quote(token, safe='')}"), params=self._query()
            )
        except Open311Permanent as exc:
            if exc.status == 400 and b"service_request_id" not in exc.body:
                return None  # FMS reads a 400 without an id as "not yet" [FMS-T t/open311.t]
            raise
        try:
            return wire.post_answers(
                response.content, response.headers.get("content-type")
            ).service_request_id
        except UnreadableDocument:
            return None

    # -- hearing back ---------------------------------------------------------------------------------------------
    async def request_updates(self, start: datetime, end: datetime, **params: Any) -> list[RemoteUpdate]:
        """GET servicerequestupdates with both dates (FX-02: FMS sends both or neither), and `page`/`page_size`
        when given."""
        response = await self._call(
            "GET",
            self.url("servicerequestupdates"),
            params=self._query(start_date=start, end_date=end, api_key=self.api_key, **params),
        )
        return wire.remote_updates(response.content, response.headers.get("content-type"))

    async def list_window(
        self,
        kind: ListKind,
        start: datetime,
        end: datetime,
        *,
        page: int | None = None,
        page_size: int | None = None,
    ) -> list[RemoteRequest] | list[RemoteUpdate]:
        """One answer of one list over one date window (one page of it when `page` is given)."""
        if kind.resource == "servicerequestupdates":
            return await self.request_updates(start, end, page=page, page_size=page_size)
        return await self.requests(
            **{kind.after: start, kind.before: end, "page": page, "page_size": page_size}
        )

    async def requests(self, **params: Any) -> list[RemoteRequest]:
        """GET requests with the given filters; a 404 on an empty list reads as empty (RQ-06, Mark-a-Spot)."""
        try:
            response = await self._call("GET", self.url("requests"), params=self._query(**params))
        except Open311Permanent as exc:
            if exc.status == 404:
                return []
            raise
        return wire.remote_requests(response.content, response.headers.get("content-type"))

    async def requests_by_id(self, ids: Sequence[str], *, batch: int = 50) -> dict[str, RemoteRequest]:
        """The back-end's requests of these ids, by id; an id it does not return is absent.

        `service_request_id=a,b,c` is the standard's list filter (it overrides every other filter). Back-ends that
        ignore it answer with their default list instead (rows of other ids are dropped), and some refuse it (a
        4xx): every id the answer lacks is then asked alone with `GET requests/{id}`.
        """
        found: dict[str, RemoteRequest] = {}
        unique = list(dict.fromkeys(ids))
        for chunk in (unique[i : i + batch] for i in range(0, len(unique), batch)):
            try:
                response = await self._get_list("requests", service_request_id=",".join(chunk))
            except Open311Permanent:
                response = []  # the list filter refused: one by one
            asked = set(chunk)
            found.update((r.service_request_id, r) for r in response if r.service_request_id in asked)
            for missing in (i for i in chunk if i not in found):
                row = await self.request_by_id(missing)
                if row is not None:
                    found[missing] = row
        return found

    async def request_by_id(self, external_id: str) -> RemoteRequest | None:
        """GET requests/{id}; None when the back-end does not know it (404, 400 or 410, or an answer without it)."""
        try:
            rows = await self._get_list(f"requests/{quote(external_id, safe='')}")
        except Open311Permanent as exc:
            if exc.status in (400, 410):
                return None
            raise
        return next((r for r in rows if r.service_request_id == external_id), None)

    async def _get_list(self, resource: str, **params: Any) -> list[RemoteRequest]:
        """GET a list of requests; a 404 reads as empty (RQ-06, Mark-a-Spot; an unknown id)."""
        try:
            response = await self._call("GET", self.url(resource), params=self._query(**params))
        except Open311Permanent as exc:
            if exc.status == 404:
                return []
            raise
        return wire.remote_requests(response.content, response.headers.get("content-type"))


async def discover(
    http: httpx.AsyncClient, url: str, *, kind: str = "production"
) -> tuple[wire.DiscoveredEndpoint, str] | None:
    """Fetch a discovery document (§10.1) and pick the GeoReport v2 endpoint of `kind` and its format."""
    try:
        response = await http.get(
            url, headers={"Accept": "application/json, text/xml", "User-Agent": USER_AGENT}
        )
    except httpx.TransportError as exc:
        raise Open311Temporary(f"{type(exc).__name__} calling {url}: {exc}") from exc
    raise_for_answer(response)
    return wire.choose_endpoint(
        wire.discovery_endpoints(response.content, response.headers.get("content-type")), kind=kind
    )
