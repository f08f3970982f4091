"""The residents' pages: `/report` (the form, posted as a plain form, with or without JavaScript), its answer
`/report/sent`, `/track` (a request number and a one-time code, then the request's public history), the photos kept
with reports (`/media/<id>.jpg`) and the service worker that keeps a report made offline.

Each page calls the handlers the JSON routes call (`Intake.submit`, `ResidentAccess`), so the same rules, limits
and idempotency hold; refusals come back as the same page with the fields marked, in the resident's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Annotated, Any
from uuid import UUID

from civicloop_events import new_event_id, request_numbers
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from civicloop_intake.bootstrap import Intake
from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.qr_codes import qr_link, tracking_page_link
from civicloop_intake.domain.submissions import IdempotencyKeyReused
from civicloop_intake.domain.validation import InvalidSubmission
from civicloop_intake.pages import area_map, places, stores
from civicloop_intake.pages.photos import PhotoRefused, cleaned
from civicloop_intake.pages.rendering import PAGE_HEADERS, SERVICE_WORKER_PATH, STATIC_DIR, error_texts, page
from civicloop_intake.pages.report_form import CHANNELS, attribute_field, form_field_of, submission_of
from civicloop_intake.pages.texts import page_language
from civicloop_intake.service_layer.ports import EventLogUnavailable
from civicloop_intake.service_layer.resident_access import (
    CodesUnavailable,
    InvalidCode,
    InvalidResidentContact,
    NotSignedIn,
    TooManyCodeAttempts,
)
from civicloop_intake.service_layer.track import RequestNotFound, TrackedRequestView

REPORT_PATH = "/report"
PLACES_PATH = "/report/places"
AREAS_PAGE_PATH = "/report/areas"
TRACK_PAGE_PATH = "/track"
TRACK_CODE_PATH = "/track/code"
TRACK_OPEN_PATH = "/track/open"
SESSION_COOKIE = "civicloop_resident"
MEDIA_PATH = "/media"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_TEXT_KEY = {
    "missing": "error_missing",
    "channel_unreachable": "error_channel",
    "photo": "error_photo",
}
_PLACE_FIELDS = {"address", "lat", "lng"}

log = logging.getLogger("civicloop.intake.pages")


async def _intake(request: Request) -> Intake:
    intake: Intake = request.app.state.service
    return intake


IntakeDep = Annotated[Intake, Depends(_intake)]
pages_router = APIRouter(tags=["residents' pages"])


def _html(**answers: str) -> dict[int | str, dict[str, Any]]:
    """A page route's answers, status (`s303`) -> what the page then says: an HTML page, a redirection (no body),
    or the skeleton's refusals in JSON (a form it could not read, a client over its rate limit)."""
    kinds: dict[int, dict[str, Any]] = {
        303: {},
        400: {"application/json": {}},
        429: {"text/html": {}, "application/json": {}},
    }
    documented: dict[int | str, dict[str, Any]] = {}
    for name, text in answers.items():
        status = int(name.removeprefix("s"))
        content = kinds.get(status, {"text/html": {}})
        documented[status] = {"content": content, "description": text} if content else {"description": text}
    return documented


_FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
        "description": "the page's form, as a browser posts it",
    }
}

Language = Annotated[str | None, Query(alias="lang", max_length=35)]


def _language(request: Request, chosen: str | None) -> str:
    return page_language(chosen, request.headers.get("accept-language"))


# -- report ---------------------------------------------------------------------------------------------------------


async def _report_page(
    request: Request,
    intake: Intake,
    language: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    categories = (
        await stores.active_categories(intake.pool, intake.settings.default_jurisdiction)
        if intake.pool is not None
        else []
    )
    # The other language's link keeps a poster link's prefill; of a posted form, only its source: what a resident
    # typed never goes into a URL.
    kept = ("address", "lat", "lng", "source") if request.method == "GET" else ("source",)
    keep = {k: str(values.get(k) or "") for k in kept}
    answer = page(
        "report.html",
        language=language,
        here=REPORT_PATH,
        keep=keep,
        status_code=status_code,
        categories=categories,
        values=values,
        errors=errors or {},
        notice=notice,
        channels=CHANNELS,
        attribute_field=attribute_field,
        address_search=bool(intake.settings.pages_geo_url),
        area_map=_map_of(intake),
        no_store=bool(errors),  # a refused form shows what the resident typed: keep it out of caches
    )
    if intake.settings.map_tile_url:
        policy = answer.headers["Content-Security-Policy"]
        answer.headers["Content-Security-Policy"] = area_map.with_tiles(policy, intake.settings.map_tile_url)
    return answer


def _map_of(intake: Intake) -> dict[str, Any] | None:
    """The report map's setup: the areas (when geo is known) and the basemap (when one is set); None: no map."""
    settings = intake.settings
    if not (settings.pages_geo_url or settings.map_tile_url):
        return None
    return {
        "areas": AREAS_PAGE_PATH if settings.pages_geo_url else "",
        "tiles": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
        "max_zoom": settings.map_tile_max_zoom,
    }


@pages_router.get(REPORT_PATH, response_class=Response, responses=_html(s200="the report form"))
async def report_form(
    request: Request,
    intake: IntakeDep,
    lang: Language = None,
    address: Annotated[str | None, Query(max_length=500)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    source: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")] = None,
) -> Response:
    """The report form, prefilled from a poster's link (`?address=&lat=&lng=&source=`). Each form carries a fresh
    Idempotency-Key, so sending it twice (a double click, a retry, the offline queue) makes one request."""
    values = {
        "address": address or "",
        "lat": "" if lat is None else str(lat),
        "lng": "" if lng is None else str(lng),
        "source": source or "",
        "idempotency_key": f"web-{new_event_id()}",
    }
    return await _report_page(request, intake, _language(request, lang), values=values)


def _problems(errors: list[tuple[tuple[Any, ...], str]], service_code: str) -> dict[str, str]:
    """Form field -> text key, for (loc, type) problems."""
    marked: dict[str, str] = {}
    for loc, kind in errors:
        field = form_field_of(loc, service_code)
        key = _TEXT_KEY.get(kind, "error_invalid")
        if field in _PLACE_FIELDS and kind == "missing":
            field, key = "address", "error_place"
        marked.setdefault(field, key)
    return marked


@pages_router.post(
    REPORT_PATH,
    response_class=Response,
    openapi_extra=_FORM_BODY,
    responses=_html(
        s200="never: a report made is answered 303",
        s303="made (or made before with this form's key): to the answer page",
        s400="the form could not be read",
        s409="this form's key was used for another report: the form again, with a new key",
        s422="the form again, its problems marked",
        s503="the report could not be recorded now: the form again, to send as it is",
    ),
)
async def send_report(request: Request, intake: IntakeDep) -> Response:
    """The form posted (multipart, for the photo): the request is made, then the answer page (303); a refusal is
    the form again with its fields marked (422), what was typed kept, the same Idempotency-Key."""
    form = await request.form()
    fields: dict[str, list[str]] = {}
    photo: UploadFile | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name == "photo" and value.filename:
                photo = value
        else:
            fields.setdefault(name, []).append(value)
    language = page_language((fields.get("lang") or [""])[0] or None, request.headers.get("accept-language"))
    given_key = (fields.get("idempotency_key") or [""])[0] or request.headers.get("idempotency-key", "")
    key = given_key if _KEY.fullmatch(given_key) else f"web-{new_event_id()}"
    values: dict[str, Any] = {name: v[0] for name, v in fields.items() if v} | {"idempotency_key": key}
    values["multi"] = fields

    async def refused(problems: dict[str, str], status_code: int = 422) -> Response:
        return await _report_page(
            request,
            intake,
            language,
            values=values,
            errors=error_texts(problems, language),
            status_code=status_code,
        )

    media_url = None
    if photo is not None:
        upload = await photo.read()
        try:
            # A few hundred ms of decoding and resizing for a phone's photo: off the event loop (Pillow lets go of
            # the GIL while it works), so the other requests are not held meanwhile.
            clean = await asyncio.to_thread(cleaned, upload)
        except PhotoRefused:
            return await refused({"photo": "error_photo"})
        if intake.pool is None:
            return await refused({"form": "error_unavailable"}, 503)
        photo_id = await stores.keep_photo(intake.pool, key, clean)
        media_url = f"{intake.settings.public_base_url.rstrip('/')}{MEDIA_PATH}/{photo_id}.jpg"

    body = submission_of(fields, media_url=media_url, language=language)
    try:
        command = SubmitServiceRequest.model_validate(body)
        receipt = await intake.submit(command, idempotency_key=key, agent_id=None)
    except ValidationError as e:
        return await refused(
            _problems([(tuple(err["loc"]), err["type"]) for err in e.errors()], body["service_code"])
        )
    except InvalidSubmission as e:
        return await refused(_problems([(err.loc, err.type) for err in e.errors], body["service_code"]))
    except IdempotencyKeyReused:
        # The same form sent again with other answers: a new form's key for this new request.
        values["idempotency_key"] = f"web-{new_event_id()}"
        return await refused({"form": "error_unavailable"}, 409)
    except EventLogUnavailable:
        log.warning("report page: event log unavailable")
        return await refused({"form": "error_unavailable"}, 503)
    answer = RedirectResponse(
        f"{REPORT_PATH}/sent?number={receipt.request_number}&lang={language}", status_code=303
    )
    answer.headers["Idempotency-Key"] = key
    return answer


class PlaceRead(BaseModel):
    address: str
    lat: float
    long: float


class PlacesRead(BaseModel):
    results: list[PlaceRead] = Field(description="inside the jurisdiction, best first, at most five")


@pages_router.get(
    PLACES_PATH,
    response_model=PlacesRead,
    responses={
        404: {"description": "no address search here (`PAGES_GEO_URL` not set)"},
        503: {"description": "geo did not answer: the address is taken as typed"},
    },
)
async def report_places(
    request: Request,
    response: Response,
    intake: IntakeDep,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")],
) -> PlacesRead | JSONResponse:
    """The report form's address search (with JavaScript): geo's public geocode, asked by intake."""
    settings = intake.settings
    if not settings.pages_geo_url:
        return JSONResponse({"error": "not_found", "detail": "no address search here"}, status_code=404)
    try:
        found = await places.find_places(
            settings.pages_geo_url,
            settings.default_jurisdiction,
            q,
            client_address=request.client.host if request.client else None,
            timeout_s=settings.pages_geo_timeout_s,
        )
    except places.PlacesUnavailable as e:
        log.warning("report page: address search unavailable", extra={"error": str(e)})
        return JSONResponse({"error": "unavailable", "detail": "address search unavailable"}, status_code=503)
    response.headers["Cache-Control"] = "no-store"
    return PlacesRead(results=[PlaceRead(address=p.address, lat=p.lat, long=p.long) for p in found])


@pages_router.get(
    AREAS_PAGE_PATH,
    response_class=Response,
    responses={
        200: {"content": {"application/geo+json": {}}, "description": "the service areas, as geo draws them"},
        304: {"description": "unchanged since the ETag given in If-None-Match"},
        404: {"description": "no map of areas here (`PAGES_GEO_URL` not set)"},
        503: {"description": "geo did not answer and intake holds no copy: the map shows no areas"},
    },
)
async def report_areas(request: Request, intake: IntakeDep) -> Response:
    """The report map's service areas: geo's public map, kept and served by intake on its own site."""
    settings = intake.settings
    if not settings.pages_geo_url:
        return JSONResponse({"error": "not_found", "detail": "no map of areas here"}, status_code=404)
    copies: area_map.AreaMapCopies | None = getattr(request.app.state, "area_map_copies", None)
    if copies is None:
        copies = request.app.state.area_map_copies = area_map.AreaMapCopies()
    try:
        copy = await copies.current(
            settings.pages_geo_url, settings.default_jurisdiction, timeout_s=settings.pages_geo_timeout_s
        )
    except area_map.AreasUnavailable as e:
        log.warning("report page: service areas unavailable", extra={"error": str(e)})
        return JSONResponse({"error": "unavailable", "detail": "service areas unavailable"}, status_code=503)
    headers = {"Cache-Control": copy.cache_control, "X-Content-Type-Options": "nosniff"}
    if copy.etag:
        headers["ETag"] = copy.etag
        if copy.etag in {
            t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
        }:
            return Response(status_code=304, headers=headers)
    return Response(copy.body, media_type="application/geo+json", headers=headers)


@pages_router.get(REPORT_PATH + "/sent", response_class=Response, responses=_html(s200="the answer page"))
async def report_sent(
    request: Request,
    intake: IntakeDep,
    number: Annotated[str, Query(min_length=1, max_length=32)],
    lang: Language = None,
) -> Response:
    """The answer: the request's number and the tracking page's QR code (which holds the number only)."""
    language = _language(request, lang)
    try:
        canonical = request_numbers.parse(number)
    except request_numbers.InvalidRequestNumber:
        return await report_form(request, intake, lang)
    track_page = tracking_page_link(intake.settings.public_base_url, canonical)
    return page(
        "answer.html",
        language=language,
        here=REPORT_PATH + "/sent",
        keep={"number": canonical},
        number=canonical,
        track_page=track_page,
        track_qr=qr_link(track_page),
    )


# -- track ----------------------------------------------------------------------------------------------------------


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@pages_router.get(
    TRACK_PAGE_PATH, response_class=Response, responses=_html(s200="the track form, or the request")
)
async def track_form(
    request: Request,
    intake: IntakeDep,
    number: Annotated[str | None, Query(max_length=32)] = None,
    lang: Language = None,
) -> Response:
    """Follow a request: its number and the contact given with it, then a one-time code. A resident who opened it
    on this device in the last hour (`RESIDENT_SESSION_TTL_S`) sees it at once."""
    language = _language(request, lang)
    token = request.cookies.get(SESSION_COOKIE)
    if token and number and intake.residents is not None:
        try:
            view = await intake.residents.get_request(token, number)
        except (NotSignedIn, RequestNotFound):
            pass
        else:
            return await _tracked(intake, token, view, language)
    return page(
        "track.html",
        language=language,
        here=TRACK_PAGE_PATH,
        keep={"number": number or ""},
        stage="contact",
        number=number or "",
        errors={},
    )


async def _tracked(intake: Intake, token: str, view: TrackedRequestView, language: str) -> Response:
    """The request, and the resident's other requests to open with the same session."""
    if intake.residents is None:
        raise CodesUnavailable
    others = [
        s
        for s in await intake.residents.list_requests(token)
        if s.request.request_number != view.request.request_number
    ]
    return page(
        "tracked.html",
        language=language,
        here=TRACK_PAGE_PATH,
        keep={"number": view.request.request_number},
        view=view,
        others=others,
        no_store=True,
    )


def _track_page(
    language: str,
    number: str,
    contact: str,
    *,
    stage: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    minutes: int | None = None,
) -> Response:
    """The track form at `stage` (contact, then code), what the resident typed kept, never cached."""
    return page(
        "track.html",
        language=language,
        here=TRACK_PAGE_PATH,
        keep={"number": number or ""},
        status_code=status_code,
        stage=stage,
        number=number,
        contact=contact,
        minutes=minutes,
        errors=errors or {},
        no_store=True,
    )


def _form_value(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@pages_router.post(
    TRACK_CODE_PATH,
    response_class=Response,
    openapi_extra=_FORM_BODY,
    responses=_html(
        s200="the code form",
        s400="the form could not be read",
        s422="not a contact",
        s429="too many codes asked for",
        s503="no code can go to this kind of contact",
    ),
)
async def track_send_code(request: Request, intake: IntakeDep) -> Response:
    """Sends a one-time code to the contact (`POST /api/v1/residents/codes`'s handler: the same answer whether the
    contact is on file or not), then asks for it."""
    form = await request.form()
    language = page_language(_form_value(form, "lang", 35) or None, request.headers.get("accept-language"))
    number, contact = _form_value(form, "number", 32), _form_value(form, "contact", 254)
    stage, errors, status = "code", {}, 200
    if intake.residents is None:
        stage, errors, status = "contact", {"contact": "codes_unavailable"}, 503
    else:
        try:
            await intake.residents.send_code(contact, language=language)
        except InvalidResidentContact:
            stage, errors, status = "contact", {"contact": "contact_invalid"}, 422
        except CodesUnavailable:
            stage, errors, status = "contact", {"contact": "codes_unavailable"}, 503
        except TooManyCodeAttempts as e:
            return _too_many(language, number, contact, e.retry_after_s)
    minutes = int(intake.settings.resident_code_ttl_s // 60)
    return _track_page(
        language, number, contact, stage=stage, status_code=status, errors=errors, minutes=minutes
    )


def _too_many(language: str, number: str, contact: str, retry_after_s: int) -> Response:
    minutes = max(1, -(-retry_after_s // 60))
    answer = _track_page(
        language,
        number,
        contact,
        stage="contact",
        status_code=429,
        errors={"form": "too_many"},
        minutes=minutes,
    )
    answer.headers["Retry-After"] = str(retry_after_s)
    return answer


@pages_router.post(
    TRACK_OPEN_PATH,
    response_class=Response,
    openapi_extra=_FORM_BODY,
    responses=_html(
        s200="the request",
        s400="the form could not be read",
        s401="the code does not work",
        s404="not one of this resident's requests",
        s429="too many tries",
        s503="no resident access here",
    ),
)
async def track_open(request: Request, intake: IntakeDep) -> Response:
    """Exchanges the code for a resident's session (kept in an HttpOnly cookie for `/track` only), and shows the
    request, if it is one of this resident's."""
    form = await request.form()
    language = page_language(_form_value(form, "lang", 35) or None, request.headers.get("accept-language"))
    number, contact = _form_value(form, "number", 32), _form_value(form, "contact", 254)
    code = _form_value(form, "code", 16)
    if intake.residents is None:
        unavailable = {"contact": "codes_unavailable"}
        return _track_page(language, number, contact, stage="contact", status_code=503, errors=unavailable)
    try:
        opened = await intake.residents.open_session(contact, code)
    except InvalidCode:
        minutes = int(intake.settings.resident_code_ttl_s // 60)
        wrong = {"code": "code_wrong"}
        return _track_page(
            language, number, contact, stage="code", status_code=401, errors=wrong, minutes=minutes
        )
    except TooManyCodeAttempts as e:
        return _too_many(language, number, contact, e.retry_after_s)
    try:
        view = await intake.residents.get_request(opened.token, number)
    except RequestNotFound:
        await intake.residents.close_session(opened.token)
        not_yours = {"number": "not_yours"}
        return _track_page(language, number, contact, stage="contact", status_code=404, errors=not_yours)
    answer = await _tracked(intake, opened.token, view, language)
    answer.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(intake.settings.resident_session_ttl_s),
        path=TRACK_PAGE_PATH,
        secure=_cookie_secure(request),
        httponly=True,
        samesite="strict",
    )
    return answer


@pages_router.post(
    TRACK_PAGE_PATH + "/sign-out",
    response_class=Response,
    responses=_html(
        s200="never: answered 303", s303="signed out: to the track form", s400="the form could not be read"
    ),
)
async def track_sign_out(request: Request, intake: IntakeDep) -> Response:
    """Ends the resident's session on this device."""
    form = await request.form()
    language = page_language(_form_value(form, "lang", 35) or None, request.headers.get("accept-language"))
    token = request.cookies.get(SESSION_COOKIE)
    if token and intake.residents is not None:
        with contextlib.suppress(NotSignedIn):
            await intake.residents.close_session(token)
    answer = RedirectResponse(f"{TRACK_PAGE_PATH}?lang={language}", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path=TRACK_PAGE_PATH)
    return answer


# -- photos and the service worker ----------------------------------------------------------------------------------


@pages_router.get(
    MEDIA_PATH + "/{photo_file}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the photo"},
        404: {"description": "no such photo"},
        503: {"description": "intake runs without its database"},
    },
)
async def photo(
    intake: IntakeDep,
    photo_file: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}\.jpg$")],
) -> Response:
    """A report's photo as intake keeps it (no metadata): public like the report's `media_url`, which names it."""
    if intake.pool is None:
        return Response(status_code=503)
    try:
        photo_id = UUID(photo_file.removesuffix(".jpg"))
    except ValueError:
        return Response(status_code=404)
    content = await stores.photo_content(intake.pool, photo_id)
    if content is None:
        return Response(status_code=404)
    return Response(
        content,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"},
    )


@pages_router.get(SERVICE_WORKER_PATH, response_class=FileResponse)
async def service_worker() -> FileResponse:
    """The service worker, from the site's root so that its scope covers `/report`."""
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"},
    )
