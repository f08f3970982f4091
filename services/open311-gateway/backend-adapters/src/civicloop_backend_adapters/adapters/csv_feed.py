"""CSV update feed: a back-end that can only export a periodic CSV of status changes.

The exports are read on every call, from a drop directory (every `*.csv` in it, in name order) or from an HTTP(S)
URL. Each row is one status change of one request; its `update_id` is a hash of the row as mapped (external id,
their status, the timestamp in UTC, the comment with its whitespace collapsed), so the same change in two exports,
in another column order or another row order, is one update, and the id is the same after a restart: nothing is
stored here. Rows that cannot be read (no id, no or unreadable timestamp, a status neither mapped nor covered by
`default_status`) are skipped, and one log line per read says how many and where.

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
from pathlib import Path
from typing import Any

from civicloop_backend_adapters.adapters.http_client import call, make_client
from civicloop_backend_adapters.config import CsvFeedSettings, StatusTarget
from civicloop_backend_adapters.domain.backend import (
    BackendRejected,
    BackendUnavailable,
    NewRequest,
    NotSupported,
    RequestNotFound,
    Update,
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


class CsvFeedAdapter:
    def __init__(self, jurisdiction_id: str, settings: CsvFeedSettings) -> None:
        self.jurisdiction_id = jurisdiction_id
        self.settings = settings
        self.services = settings.services
        self._client = (
            make_client("", settings.url_auth, settings.timeout_s) if settings.url is not None else None
        )

    async def _exports(self) -> list[tuple[str, str]]:
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
                (self.settings.url or "", response.content.decode(self.settings.encoding, errors="replace"))
            ]
        # File reads block: off the event loop, so other requests are served meanwhile.
        return await asyncio.to_thread(self._dropped_exports, Path(self.settings.directory or ""))

    def _dropped_exports(self, directory: Path) -> list[tuple[str, str]]:
        if not directory.is_dir():
            log.warning("csv drop directory missing", extra={"jurisdiction_id": self.jurisdiction_id})
            raise BackendUnavailable("The CSV drop directory is not available.")
        exports = []
        for path in sorted(directory.glob("*.csv")):
            try:
                exports.append(
                    (path.name, path.read_bytes().decode(self.settings.encoding, errors="replace"))
                )
            except OSError:
                log.warning(
                    "csv export unreadable",
                    extra={"jurisdiction_id": self.jurisdiction_id, "file": path.name},
                )
        return exports

    async def all_updates(self) -> list[Update]:
        collected: list[Update] = []
        skipped: list[Skipped] = []
        for source, text in await self._exports():
            rows, bad = parse_export(text, source, self.settings)
            collected += rows
            skipped += bad
        if skipped:
            log.warning(
                "csv feed: skipped %d malformed row(s): %s",
                len(skipped),
                "; ".join(f"{s.source}:{s.line} {s.reason}" for s in skipped[:20]),
                extra={"jurisdiction_id": self.jurisdiction_id, "skipped": len(skipped)},
            )
        return merge(collected)

    async def create(self, request: NewRequest) -> str:
        raise NotSupported("This back-end only exports status changes; it cannot receive service requests.")

    async def updates(self, window: Window) -> list[Update]:
        return [u for u in await self.all_updates() if window.contains(u.updated_datetime)]

    async def requests(self, window: Window) -> list[dict[str, Any]]:
        return request_rows(await self.updates(window))

    async def request(self, service_request_id: str) -> dict[str, Any]:
        rows = request_rows(u for u in await self.all_updates() if u.service_request_id == service_request_id)
        if not rows:
            raise RequestNotFound(service_request_id)
        return rows[0]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
