"""The adapter app: Open311 GeoReport v2 in front of back-ends that do not speak it, one adapter per `jurisdiction_id`.

Served under the base path (`/open311/v2`), in XML and JSON, with the gateway's own documents and error answers:

* `GET services.{fmt}`: the adapter's configured categories (no service definitions: `metadata` is false);
* `POST requests.{fmt}`: validated (service_code 400/404, location 400, api_key 403 when configured), then created in
  the back-end; the answer is the back-end's id as `service_request_id`;
* `GET requests.{fmt}`: the back-end's requests changed in the window, one row each in its latest state;
  `service_request_id` (comma list) overrides every other filter (RQ-02); `status`, `service_code` filter;
* `GET requests/{id}.{fmt}`: one request, 404 when the back-end does not know it;
* `GET servicerequestupdates.{fmt}`: the back-end's changes in the window (FX-01), oldest first;
* `POST servicerequestupdates.{fmt}` (FX-10): an update to one of the back-end's requests (an agent's comment or
  reopening), recorded by the adapter's comment call; a back-end that takes none answers 501.

Both lists answer at most 1,000 rows and honour `page` (from 1) and `page_size` (up to 1,000) over a stable order
(requests: latest change first; updates: oldest first), so a reader can walk a window of any size; pages after
the first are cut from the read that answered page 1 (`service_layer/snapshots.py`).

The window is `start_date`/`end_date` or their CitySDK aliases `updated_after`/`updated_before`, both inclusive, on
the time of the back-end's change (a back-end behind an adapter gives change times, not creation times); without
either, the last `default_window_days`. The back-end down, slow or failing -> 503 with Retry-After; the back-end
refusing a request -> 400 carrying its message. Nothing is stored here (a read is kept in memory only for the
pages after the first).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version
from typing import Any

from civicloop_open311.dates import InvalidDate, parse_w3c
from civicloop_open311.documents import (
    request_record,
    requests_document,
    services_document,
    updates_document,
)
from civicloop_open311.errors import Open311Error
from civicloop_open311.formats import Format, UnknownFormat, split_resource
from civicloop_open311.forms import OpenForm
from civicloop_open311.http import (
    document_response,
    install_open311_error_handlers,
    read_post_form,
    render_open311_error,
    requested_format,
)
from civicloop_open311.render import Document, Many
from civicloop_runtime import process as runtime_process
from civicloop_runtime.app import Shed, running_service, service_app
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from civicloop_backend_adapters.bootstrap import bootstrap
from civicloop_backend_adapters.config import AdapterAppConfig, load_config
from civicloop_backend_adapters.domain.backend import (
    BackendAdapter,
    BackendRejected,
    BackendUnavailable,
    IncomingUpdate,
    NewRequest,
    NotSupported,
    RequestNotFound,
    UpdatesNotTaken,
    Window,
)
from civicloop_backend_adapters.domain.mapping import post_context
from civicloop_backend_adapters.domain.paging import BadPaging, PageRequest, Row, page_of, page_request
from civicloop_backend_adapters.service_layer.jurisdictions import Jurisdictions
from civicloop_backend_adapters.settings import BackendAdapterSettings

SERVICE = "civicloop-backend-adapters"
MAX_RESULTS = 1000  # RQ-04
RETRY_AFTER_S = "30"
STATUSES = ("open", "closed")

log = logging.getLogger("civicloop.backend_adapters")


def _one(request: Request, *names: str) -> str | None:
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _date(text: str | None, name: str, *, upper: bool) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = parse_w3c(text)
    except InvalidDate as exc:
        raise Open311Error(400, 400, f"{name}: {exc}") from None
    return parsed.last if upper else parsed.start


def window_of(request: Request, default_days: int) -> Window:
    start = _date(_one(request, "updated_after", "start_date"), "start_date", upper=False)
    end = _date(_one(request, "updated_before", "end_date"), "end_date", upper=True)
    if start is not None and end is not None and start > end:
        raise Open311Error(400, 400, "start_date is after end_date.")
    if start is None and end is None:  # from the minute, so the pages of one walk ask the same window
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=default_days)
    elif start is None and end is not None:
        start = end - timedelta(days=default_days)
    return Window(start, end)


def _list(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


def _paging(request: Request) -> PageRequest:
    try:
        return page_request(_one(request, "page"), _one(request, "page_size"), MAX_RESULTS)
    except BadPaging as exc:
        raise Open311Error(400, 400, str(exc)) from None


def _page(asked: PageRequest, jurisdiction_id: str, resource: str, rows: list[Row]) -> list[Row]:
    """The page asked for (`page`, `page_size` ≤ 1000), or the first 1000 rows; a longer answer cut without a
    page asked is logged, since the reader may not know it has more to read."""
    if not asked.asked and len(rows) > MAX_RESULTS:
        log.warning(
            "answer cut at %d of %d rows; page it with page and page_size",
            MAX_RESULTS,
            len(rows),
            extra={"jurisdiction_id": jurisdiction_id, "resource": resource},
        )
    return page_of(rows, asked)


def _respond(document: Document, fmt: Format) -> Response:
    return document_response(document, fmt)


async def _guard(coro: Any) -> Any:
    """The back-end's failures as Open311 errors."""
    try:
        return await coro
    except BackendUnavailable as exc:
        raise Open311Error(503, 503, f"{exc} Retry later.", headers={"Retry-After": RETRY_AFTER_S}) from None
    except BackendRejected as exc:
        raise Open311Error(400, 400, f"The back-end refused the request: {exc.message}") from None
    except UpdatesNotTaken as exc:
        raise Open311Error(501, 501, str(exc)) from None
    except NotSupported as exc:
        raise Open311Error(400, 400, str(exc)) from None


def _check_location(form: OpenForm) -> None:
    """PR-03: lat and long together, or address_string, or address_id; coordinates in range."""
    lat, lon = form.get("lat"), form.get("long")
    if (lat is None) != (lon is None):
        raise Open311Error(400, 400, "lat and long must be sent together.")
    if lat is not None and lon is not None:
        try:
            lat_f, lon_f = float(lat), float(lon)
        except ValueError:
            raise Open311Error(400, 400, "lat and long must be numbers.") from None
        if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
            raise Open311Error(400, 400, "lat must be within -90..90 and long within -180..180.")
        return
    if form.get("address_string") is None and form.get("address_id") is None:
        raise Open311Error(400, 400, "A location is required: lat and long, address_string or address_id.")


def incoming_update(form: OpenForm) -> IncomingUpdate:
    """FX-10/FX-11: service_request_id, update_id, status, updated_datetime required (400 each); description may be
    empty."""
    values = {}
    for name in ("service_request_id", "update_id", "status", "updated_datetime"):
        value = form.get(name)
        if not value:
            raise Open311Error(400, 400, f"{name} is required.")
        values[name] = value
    try:
        when = parse_w3c(values["updated_datetime"]).start
    except InvalidDate:
        raise Open311Error(400, 400, "updated_datetime is not a W3C date.") from None
    description = form.get("description") or ""
    if len(description) > 4000:
        raise Open311Error(400, 400, "description is longer than 4,000 characters.")
    return IncomingUpdate(
        service_request_id=values["service_request_id"],
        update_id=values["update_id"],
        status=values["status"].lower(),
        updated_datetime=when,
        description=description,
        media_urls=tuple(form.all("media_url")),
    )


def create_app(
    settings: BackendAdapterSettings | None = None,
    *,
    config: AdapterAppConfig | None = None,
    backends: Mapping[str, BackendAdapter] | None = None,
) -> FastAPI:
    """The routes; the back-end adapters are wired by `bootstrap` when the app starts (and closed when it stops)."""
    settings = settings or BackendAdapterSettings()
    if config is None:
        if settings.adapters_config is None:
            raise ValueError("no adapters configuration: set CIVICLOOP_ADAPTERS_CONFIG or pass --config")
        config = load_config(settings.adapters_config)
    base = config.base_path.rstrip("/")
    router = APIRouter(prefix=base, default_response_class=Response)  # XML or JSON, built by each route

    def serving(request: Request) -> Jurisdictions:
        jurisdictions: Jurisdictions | None = running_service(request)
        if jurisdictions is None:
            raise Open311Error(503, 503, "The adapters are not started yet.", headers={"Retry-After": "1"})
        return jurisdictions

    @router.get("/services.{fmt}")
    async def services(fmt: str, request: Request) -> Response:
        f = requested_format(fmt)
        _, adapter = serving(request).pick(_one(request, "jurisdiction_id"))
        return _respond(services_document(s.row() for s in adapter.services), f)

    @router.post("/requests.{fmt}")
    async def post_request(fmt: str, request: Request) -> Response:
        f = requested_format(fmt)
        form = await read_post_form(request)
        jid, adapter = serving(request).pick(form.get("jurisdiction_id"))
        expected_key = serving(request).api_keys[jid]
        if expected_key is not None and form.get("api_key") != expected_key:
            raise Open311Error(403, 403, "Missing or invalid api_key.")
        code = form.get("service_code")
        if code is None:
            raise Open311Error(400, 400, "service_code is required.")
        service = next((s for s in adapter.services if s.service_code == code), None)
        if service is None:
            raise Open311Error(404, 404, f"service_code not found: {code}")
        _check_location(form)
        description = form.get("description")
        if description is not None and len(description) > 4000:
            raise Open311Error(400, 400, "description is longer than 4,000 characters.")
        fields = {k: v for k, v in form.fields.items() if k != "api_key"}
        context = post_context(fields, form.attributes, form.all("media_url"), service.model_dump())
        new_id = await _guard(adapter.create(NewRequest(service=service, context=context)))
        return _respond(requests_document([{"service_request_id": new_id}]), f)

    @router.get("/requests.{fmt}")
    async def get_requests(fmt: str, request: Request) -> Response:
        f = requested_format(fmt)
        jid, adapter = serving(request).pick(_one(request, "jurisdiction_id"))
        ids = _list(request, "service_request_id")
        if ids:  # RQ-02: overrides every other filter
            rows = []
            for sid in dict.fromkeys(ids):
                try:
                    rows.append(await _guard(adapter.request(sid)))
                except RequestNotFound:
                    continue
            return _respond(requests_document(request_record(r) for r in rows), f)
        statuses = _list(request, "status")
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise Open311Error(400, 400, f"status must be open or closed, not {bad[0]!r}.")
        codes = set(_list(request, "service_code"))
        window = window_of(request, serving(request).window_days(jid))
        paging = _paging(request)
        rows = await _guard(
            serving(request).snapshots.read(
                (jid, "requests", window), partial(adapter.requests, window), fresh=paging.page == 1
            )
        )
        rows = [
            r
            for r in rows
            if (not statuses or r["status"] in statuses) and (not codes or r.get("service_code") in codes)
        ]
        answered = _page(paging, jid, "requests", rows)
        return _respond(requests_document(request_record(r) for r in answered), f)

    @router.get("/requests/{resource}")
    async def get_request(resource: str, request: Request) -> Response:
        try:
            sid, f = split_resource(resource)
        except UnknownFormat as exc:
            raise Open311Error(404, 404, str(exc)) from None
        _, adapter = serving(request).pick(_one(request, "jurisdiction_id"))
        try:
            row = await _guard(adapter.request(sid))
        except RequestNotFound:
            raise Open311Error(404, 404, f"Service request not found with id {sid}") from None
        return _respond(requests_document([request_record(row)]), f)

    @router.post("/servicerequestupdates.{fmt}")
    async def post_update(fmt: str, request: Request) -> Response:
        f = requested_format(fmt)
        form = await read_post_form(request)
        jid, adapter = serving(request).pick(form.get("jurisdiction_id"))
        expected_key = serving(request).api_keys[jid]
        if expected_key is not None and form.get("api_key") != expected_key:
            raise Open311Error(403, 403, "Missing or invalid api_key.")
        update_id = await _guard(adapter.post_update(incoming_update(form)))
        return _respond(
            Document("service_request_updates", Many("request_update", [{"update_id": update_id}])), f
        )

    @router.get("/servicerequestupdates.{fmt}")
    async def get_updates(fmt: str, request: Request) -> Response:
        f = requested_format(fmt)
        jid, adapter = serving(request).pick(_one(request, "jurisdiction_id"))
        window = window_of(request, serving(request).window_days(jid))
        paging = _paging(request)
        updates = await _guard(  # oldest first
            serving(request).snapshots.read(
                (jid, "updates", window), partial(adapter.updates, window), fresh=paging.page == 1
            )
        )
        answered = _page(paging, jid, "servicerequestupdates", updates)
        return _respond(updates_document(u.row() for u in answered), f)

    app = service_app(
        title="CivicLoop Open311 back-end adapters",
        version=version("civicloop-backend-adapters"),
        start=partial(bootstrap, settings, config=config, backends=backends),
        routers=(router,),
        max_body_bytes=settings.max_body_bytes,
        shedding=Shed.from_settings(settings),
        render_error=render_open311_error,
    )
    install_open311_error_handlers(app, base_path=base)
    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory civicloop_backend_adapters.entrypoints.http:app_from_environment`: the process set up
    too (JSON logs, traces over OTLP when configured); the configuration file from `CIVICLOOP_ADAPTERS_CONFIG`."""
    return runtime_process.app_from_environment(SERVICE, BackendAdapterSettings, create_app)
