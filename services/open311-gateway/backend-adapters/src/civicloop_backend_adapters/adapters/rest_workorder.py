"""Generic REST work-order adapter, configured by mapping.

POST requests -> their create call, with a JSON body built by the field mapping from the Open311 POST (see
`mapping.py`); the answer's `id_path` is the `service_request_id`. Updates -> their list call with "updated since"
the window's start; each item is the work order as it now is, and becomes one update: its id is their change id
when `updates.update_id` names one, else a hash of (id, status, updated time, comment), the same on every read.
Statuses go through `status_map` (their status -> open/closed and `external_status_code`). `GET requests/{id}`
uses their fetch call when configured, else finds the id among the recent updates. `POST servicerequestupdates` ->
their comment call (`comment`), when configured; else the update is not taken (501).

Reading their list loses nothing silently: pages are followed, an answer cut by their cap (`answer_cap`) or by
`max_pages` is read again in halves of its window when their search takes an upper bound (`until_param`), else the
call fails; `late_s` looks back for changes that show up in their search after their change time.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from civicloop_open311.dates import format_w3c

from civicloop_backend_adapters.adapters.http_client import call, make_client
from civicloop_backend_adapters.config import ListCall, RestWorkOrderSettings, StatusTarget
from civicloop_backend_adapters.domain.backend import (
    AnswerCut,
    BackendRejected,
    BackendUnavailable,
    IncomingUpdate,
    NewRequest,
    RequestNotFound,
    Update,
    UpdatesNotTaken,
    Window,
    request_rows,
)
from civicloop_backend_adapters.domain.mapping import (
    MappingError,
    build_document,
    get_path,
    map_status,
    parse_timestamp,
    update_hash,
)
from civicloop_backend_adapters.domain.paging import PageWalk, PagingMode, halves

log = logging.getLogger("civicloop.backend_adapters.rest")


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        raise BackendUnavailable("The back-end answered with something that is not JSON.") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def item_to_update(
    item: Any,
    spec: ListCall,
    status_map: dict[str, Any],
    default_status: str | None,
    service_code_map: dict[str, str],
) -> Update | None:
    """One work order from their list as an Open311 update; None when it lacks what an update needs (pure)."""
    if not isinstance(item, dict):
        return None
    wid = _text(get_path(item, spec.id))
    raw_status = _text(get_path(item, spec.status))
    if wid is None or raw_status is None:
        return None
    try:
        when = parse_timestamp(
            get_path(item, spec.updated), fmt=spec.timestamp_format, timezone=spec.timezone
        )
    except MappingError:
        return None
    mapped = map_status(raw_status, status_map, default_status)
    if mapped is None:
        return None
    status, external_code = mapped
    comment = " ".join(str(get_path(item, spec.comment) or "").split()) if spec.comment else ""
    their_update_id = _text(get_path(item, spec.update_id)) if spec.update_id else None
    extra: dict[str, Any] = {}
    if spec.service_code:
        category = _text(get_path(item, spec.service_code))
        extra["service_code"] = service_code_map.get(category or "", category)
    if spec.description:
        extra["description"] = _text(get_path(item, spec.description))
    if spec.address:
        extra["address"] = _text(get_path(item, spec.address))
    for name in ("lat", "long"):
        path = getattr(spec, name)
        if path:
            value = get_path(item, path)
            try:
                extra[name] = None if value is None else float(value)
            except (TypeError, ValueError):
                extra[name] = None
    if spec.requested:
        with contextlib.suppress(MappingError):  # an unreadable date is left out, the update still counts
            extra["requested_datetime"] = parse_timestamp(
                get_path(item, spec.requested), fmt=spec.timestamp_format, timezone=spec.timezone
            )
    return Update(
        update_id=their_update_id or update_hash(wid, raw_status, when, comment),
        service_request_id=wid,
        status=status,
        updated_datetime=when,
        description=comment,
        external_status_code=external_code,
        extra=extra,
    )


class RestWorkOrderAdapter:
    def __init__(self, jurisdiction_id: str, settings: RestWorkOrderSettings) -> None:
        self.jurisdiction_id = jurisdiction_id
        self.settings = settings
        self.services = settings.services
        self._status_map = {
            k: (v.model_dump() if isinstance(v, StatusTarget) else v) for k, v in settings.status_map.items()
        }
        self._client = make_client(settings.base_url, settings.auth, settings.timeout_s)

    def work_order(self, request: NewRequest) -> dict[str, Any]:
        try:
            return build_document(self.settings.create.fields, request.context)
        except MappingError as exc:
            raise BackendRejected(400, f"cannot map the request: {exc}") from None

    async def create(self, request: NewRequest) -> str:
        spec = self.settings.create
        response = await call(self._client, spec.method, spec.path, json=self.work_order(request))
        new_id = _text(get_path(_json(response), spec.id_path))
        if new_id is None:
            log.warning(
                "back-end answered without an id",
                extra={"jurisdiction_id": self.jurisdiction_id, "id_path": spec.id_path},
            )
            raise BackendUnavailable("The back-end accepted the work order but gave no id.")
        return new_id

    async def post_update(self, update: IncomingUpdate) -> str:
        """Their comment call on the work order; their id of the comment when `id_path` finds one, else ours."""
        spec = self.settings.comment
        if spec is None:
            raise UpdatesNotTaken("This back-end takes no updates (no comment call is configured).")
        try:
            document = build_document(spec.fields, update.context())
        except MappingError as exc:
            raise BackendRejected(400, f"cannot map the update: {exc}") from None
        path = spec.path.replace("{id}", quote(update.service_request_id, safe=""))
        response = await call(self._client, spec.method, path, json=document)
        their_id = _text(get_path(_json(response), spec.id_path)) if spec.id_path else None
        return their_id or update.update_id

    def _at(self, when: datetime) -> str:
        fmt = self.settings.updates.since_format
        return when.astimezone(UTC).strftime(fmt) if fmt else format_w3c(when)

    async def _items(self, window: Window) -> list[Any]:
        """Every item of their search for the window: pages followed; an answer cut by their cap or by `max_pages`
        is split into halves (when their search takes an upper bound) until every part is read whole, else the read
        fails (`AnswerCut`) rather than pass part of the window off as all of it."""
        start = window.start or datetime.now(UTC) - timedelta(days=self.settings.default_window_days)
        return await self._read(start, window.end)

    async def _read(self, start: datetime, end: datetime | None) -> list[Any]:
        spec = self.settings.updates
        items, cut = await self._walk(start, end if spec.until_param else None)
        if cut is None:
            return items
        parts = (
            halves(start, end or datetime.now(UTC), timedelta(seconds=spec.min_window_s))
            if spec.until_param
            else None
        )
        where = {"jurisdiction_id": self.jurisdiction_id, "start": start.isoformat(), "reason": cut}
        if parts is None:
            log.error(
                "rest work orders: an answer was cut and cannot be split; nothing is answered", extra=where
            )
            raise AnswerCut(
                f"The back-end's answer from {format_w3c(start)} was cut ({cut}) and cannot be read whole."
            )
        log.info("rest work orders: an answer was cut; reading its window in halves", extra=where)
        read: list[Any] = []
        for part_start, part_end in parts:
            read += await self._read(part_start, part_end)
        return read

    async def _walk(self, start: datetime, end: datetime | None) -> tuple[list[Any], str | None]:
        """Their search from `start` (to `end` when given), page after page: (items, why it was cut or None)."""
        spec = self.settings.updates
        params = dict(spec.params)
        if spec.since_param:
            params[spec.since_param] = self._at(start)
        if spec.until_param and end is not None:
            params[spec.until_param] = self._at(end)
        if spec.page_size_param:
            params[spec.page_size_param] = str(spec.page_size)
        mode: PagingMode = "cursor" if spec.cursor_path else "page" if spec.page_param else "none"
        walk = PageWalk(mode, spec.page_size, spec.answer_cap, spec.max_pages)
        items: list[Any] = []
        page = spec.first_page
        while True:
            if spec.page_param:
                params[spec.page_param] = str(page)
            body = _json(await call(self._client, "GET", spec.path, params=params))
            found = get_path(body, spec.items_path)
            if not isinstance(found, list):
                raise BackendUnavailable("The back-end's list of work orders is not where the mapping says.")
            items += found
            cursor = _text(get_path(body, spec.cursor_path)) if spec.cursor_path else None
            step = walk.after([self._key(item) for item in found], cursor)
            if step != "next":
                return items, walk.cut_reason
            if cursor is not None:
                params[spec.cursor_param] = cursor
            page += 1

    def _key(self, item: Any) -> str:
        """What tells two pages apart: each item's id and change time."""
        spec = self.settings.updates
        return f"{get_path(item, spec.id)}@{get_path(item, spec.updated)}"

    def _to_update(self, item: Any) -> Update | None:
        s = self.settings
        return item_to_update(item, s.updates, self._status_map, s.default_status, s.service_code_map)

    async def updates(self, window: Window) -> list[Update]:
        """The changes in the window, and those of the `late_s` before it (a change that showed up late in their
        search); an item read twice (overlapping windows, a page repeated) is one update."""
        window = window.looking_back(timedelta(seconds=self.settings.updates.late_s))
        found: dict[str, Update] = {}
        unreadable = 0
        for item in await self._items(window):
            update = self._to_update(item)
            if update is None:
                unreadable += 1
                continue
            if window.contains(update.updated_datetime):
                found.setdefault(update.update_id, update)
        if unreadable:
            log.warning(
                "rest work orders: skipped %d unreadable item(s)",
                unreadable,
                extra={"jurisdiction_id": self.jurisdiction_id},
            )
        return sorted(found.values(), key=lambda u: (u.updated_datetime, u.update_id))

    async def requests(self, window: Window) -> list[dict[str, Any]]:
        return request_rows(await self.updates(window))

    async def request(self, service_request_id: str) -> dict[str, Any]:
        fetch = self.settings.fetch
        if fetch is None:
            rows = [
                r
                for r in await self.requests(Window(None, None))
                if r["service_request_id"] == service_request_id
            ]
            if not rows:
                raise RequestNotFound(service_request_id)
            return rows[0]
        path = fetch.path.replace("{id}", _quote(service_request_id))
        try:
            body = _json(await call(self._client, "GET", path))
        except BackendRejected as exc:
            if exc.status == 404:
                raise RequestNotFound(service_request_id) from None
            raise
        update = self._to_update(get_path(body, fetch.item_path))
        if update is None:
            raise RequestNotFound(service_request_id)
        return request_rows([update])[0]

    async def close(self) -> None:
        await self._client.aclose()


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
