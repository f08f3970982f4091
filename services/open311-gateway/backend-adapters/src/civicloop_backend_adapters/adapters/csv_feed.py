"""CSV update feed: a back-end that can only export a periodic CSV of status changes.

The exports are read on every call, from a drop directory (every `*.csv` in it, in name order) or from an HTTP(S)
URL. Each row is one status change of one request; its `update_id` is a hash of the row as mapped (external id,
their status, the timestamp in UTC, the comment with its whitespace collapsed), so the same change in two exports,
in another column order or another row order, is one update, and the id is the same after a restart: nothing is
stored here. Rows that cannot be read (no id, no or unreadable timestamp, a status neither mapped nor covered by
`default_status`) are skipped, and one log line per read says how many and where.

A row belongs to a window by its change time or by when its export was published (a dropped file's last change,
the URL's `Last-Modified`), so a change exported hours after it happened still reaches the reader polling when it
appeared; a dropped file still being written (changed within `settle_s`, its last line without a line end) is read
without that last line until it is whole.

POST is not offered: this back-end cannot receive a request. The app answers an Open311 400 saying so (the
resource itself has POST for other jurisdictions, so 405 would misdescribe it).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from civicloop_backend_adapters.adapters.http_client import call, make_client
from civicloop_backend_adapters.config import CsvFeedSettings, StatusTarget
from civicloop_backend_adapters.domain.backend import (
    BackendRejected,
    BackendUnavailable,
    IncomingUpdate,
    NewRequest,
    NotSupported,
    RequestNotFound,
    Update,
    UpdatesNotTaken,
    Window,
    request_rows,
)
from civicloop_backend_adapters.domain.mapping import MappingError, map_status, parse_timestamp, update_hash

log = logging.getLogger("civicloop.backend_adapters.csv")


@dataclass(frozen=True)
class Skipped:
    source: str
    line: int
    reason: str


def _status_map(settings: CsvFeedSettings) -> dict[str, Any]:
    return {k: (v.model_dump() if isinstance(v, StatusTarget) else v) for k, v in settings.status_map.items()}


def parse_export(text: str, source: str, settings: CsvFeedSettings) -> tuple[list[Update], list[Skipped]]:
    """One export's rows as updates, and the rows that were skipped (pure: no I/O)."""
    cols = settings.columns
    statuses = _status_map(settings)
    updates: list[Update] = []
    skipped: list[Skipped] = []
    reader = csv.DictReader(io.StringIO(text), delimiter=settings.delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    needed = [c for c in (cols.external_id, cols.status, cols.timestamp) if c not in header]
    if needed:
        skipped.append(Skipped(source, 1, f"missing column(s) {', '.join(needed)}"))
        return updates, skipped
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than the header has names
            skipped.append(Skipped(source, line, "more cells than columns"))
            continue
        external_id = (row.get(cols.external_id) or "").strip()
        raw_status = (row.get(cols.status) or "").strip()
        comment = " ".join((row.get(cols.comment) or "").split()) if cols.comment else ""
        if not external_id:
            skipped.append(Skipped(source, line, "no external id"))
            continue
        try:
            when = parse_timestamp(
                row.get(cols.timestamp), fmt=settings.timestamp_format, timezone=settings.timezone
            )
        except MappingError as exc:
            skipped.append(Skipped(source, line, str(exc)))
            continue
        mapped = map_status(raw_status, statuses, settings.default_status) if raw_status else None
        if mapped is None:
            skipped.append(
                Skipped(source, line, f"unmapped status {raw_status!r}" if raw_status else "no status")
            )
            continue
        status, external_code = mapped
        updates.append(
            Update(
                update_id=update_hash(external_id, raw_status, when, comment),
                service_request_id=external_id,
                status=status,
                updated_datetime=when,
                description=comment,
                external_status_code=external_code,
            )
        )
    return updates, skipped


def merge(updates: Iterable[Update]) -> list[Update]:
    """Distinct updates (by update id), oldest first."""
    seen: dict[str, Update] = {}
    for u in updates:
        seen.setdefault(u.update_id, u)
    return sorted(seen.values(), key=lambda u: (u.updated_datetime, u.update_id))


@dataclass(frozen=True)
class Export:
    """One export as read: `published` is when its rows became readable (the file's last change, the URL's
    `Last-Modified`; None when unknown); `being_written` when a dropped file may still be growing."""

    source: str
    text: str
    published: datetime | None = None
    being_written: bool = False


@dataclass(frozen=True)
class Published:
    """An update and when it was first readable (the earliest export that has it; None when unknown)."""

    update: Update
    published: datetime | None

    def in_window(self, window: Window) -> bool:
        """Its change time is in the window, or it was published in it: a change exported after its time (a nightly
        export of yesterday's work) is still answered to the reader whose window is the time it appeared."""
        return window.contains(self.update.updated_datetime) or (
            self.published is not None and window.contains(self.published)
        )


def readable_text(export: Export) -> str:
    """The export without a last line that is still being written (no line end yet): it is read next time, whole,
    instead of now as a cut row that would become an update of its own."""
    if export.being_written and export.text and not export.text.endswith(("\n", "\r")):
        return export.text[: export.text.rfind("\n") + 1]
    return export.text


def merge_published(pairs: Iterable[tuple[Update, datetime | None]]) -> list[Published]:
    """Distinct updates (by update id) with their earliest known publication, oldest change first."""
    seen: dict[str, Published] = {}
    for update, published in pairs:
        known = seen.get(update.update_id)
        if known is None:
            seen[update.update_id] = Published(update, published)
        elif published is not None and (known.published is None or published < known.published):
            seen[update.update_id] = Published(known.update, published)
    return sorted(seen.values(), key=lambda p: (p.update.updated_datetime, p.update.update_id))


def settling(text: str, changed: datetime, now: datetime, settle: timedelta) -> bool:
    """A dropped file changed within `settle` whose last line has no line end is taken as still being written."""
    return bool(text) and not text.endswith(("\n", "\r")) and now - changed < settle


class CsvFeedAdapter:
    def __init__(self, jurisdiction_id: str, settings: CsvFeedSettings) -> None:
        self.jurisdiction_id = jurisdiction_id
        self.settings = settings
        self.services = settings.services
        self._client = (
            make_client("", settings.url_auth, settings.timeout_s) if settings.url is not None else None
        )

    async def _exports(self) -> list[Export]:
        if self._client is not None:
            try:
                response = await call(
                    self._client, "GET", self.settings.url or "", headers={"Accept": "text/csv, */*"}
                )
            except BackendRejected as exc:  # no export there (yet): a read to retry, not a bad request
                raise BackendUnavailable(
                    f"The CSV export could not be fetched (HTTP {exc.status})."
                ) from None
            return [
                Export(
                    self.settings.url or "",
                    response.content.decode(self.settings.encoding, errors="replace"),
                    published=_http_date(response.headers.get("last-modified")),
                )
            ]
        # File reads block: off the event loop, so other requests are served meanwhile.
        return await asyncio.to_thread(self._dropped_exports, Path(self.settings.directory or ""))

    def _dropped_exports(self, directory: Path) -> list[Export]:
        if not directory.is_dir():
            log.warning("csv drop directory missing", extra={"jurisdiction_id": self.jurisdiction_id})
            raise BackendUnavailable("The CSV drop directory is not available.")
        exports = []
        now = datetime.now(UTC)
        settle = timedelta(seconds=self.settings.settle_s)
        for path in sorted(directory.glob("*.csv")):
            try:
                stat = path.stat()
                text = path.read_bytes().decode(self.settings.encoding, errors="replace")
            except OSError:
                log.warning(
                    "csv export unreadable",
                    extra={"jurisdiction_id": self.jurisdiction_id, "file": path.name},
                )
                continue
            written = datetime.fromtimestamp(stat.st_mtime, UTC)
            # A copy that keeps the original time (`cp -p`, `rsync -t`) still changes the inode's time: the later
            # of the two is when the rows arrived here.
            arrived = max(written, datetime.fromtimestamp(stat.st_ctime, UTC))
            exports.append(
                Export(path.name, text, published=arrived, being_written=settling(text, written, now, settle))
            )
        return exports

    async def _published(self) -> list[Published]:
        collected: list[tuple[Update, datetime | None]] = []
        skipped: list[Skipped] = []
        for export in await self._exports():
            rows, bad = parse_export(readable_text(export), export.source, self.settings)
            collected += [(row, export.published) for row in rows]
            skipped += bad
        if skipped:
            log.warning(
                "csv feed: skipped %d malformed row(s): %s",
                len(skipped),
                "; ".join(f"{s.source}:{s.line} {s.reason}" for s in skipped[:20]),
                extra={"jurisdiction_id": self.jurisdiction_id, "skipped": len(skipped)},
            )
        return merge_published(collected)

    async def all_updates(self) -> list[Update]:
        return [p.update for p in await self._published()]

    async def create(self, request: NewRequest) -> str:
        raise NotSupported("This back-end only exports status changes; it cannot receive service requests.")

    async def post_update(self, update: IncomingUpdate) -> str:
        raise UpdatesNotTaken("This back-end only exports status changes; it takes no updates.")

    async def updates(self, window: Window) -> list[Update]:
        return [p.update for p in await self._published() if p.in_window(window)]

    async def requests(self, window: Window) -> list[dict[str, Any]]:
        """The requests with a change in the window (by its time or its publication), each folded from all its
        changes: a change published late must not stand for the request's state over a later one."""
        published = await self._published()
        changed = {p.update.service_request_id for p in published if p.in_window(window)}
        return request_rows(p.update for p in published if p.update.service_request_id in changed)

    async def request(self, service_request_id: str) -> dict[str, Any]:
        rows = request_rows(u for u in await self.all_updates() if u.service_request_id == service_request_id)
        if not rows:
            raise RequestNotFound(service_request_id)
        return rows[0]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date (`Last-Modified`) as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
