"""The open-data export fired by an admin (routes) or by a schedule (`civicloop-projections open-data`, with a
progress bar). Both run `adapters.open_data_export.export` on a connection of their own; docs/open-data.md.

    POST /api/v1/admin/open-data/exports                 start one (202; the one already running if any)
    GET  /api/v1/admin/open-data/exports/{id}            its state: running, failed, or its manifest
    GET  /api/v1/admin/open-data/exports/{id}/{file}     one of its files; `latest` is the newest finished export

Admins only: the export holds no personal data, but it is the county's to publish, when it chooses.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, require_staff
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import FileResponse, JSONResponse

from civicloop_projections.adapters import open_data_export
from civicloop_projections.adapters.open_data_export import ExportResult
from civicloop_projections.settings import ProjectionSettings

log = logging.getLogger(__name__)
router = APIRouter(tags=["open data"], responses=STAFF_RESPONSES)
Admin = Annotated[StaffPrincipal, Depends(require_staff(Role.admin))]
ExportId = Annotated[
    str, Path(pattern=r"^(latest|\d{8}T\d{6}Z-[0-9a-f]{6})$", description="an export's id, or `latest`")
]
MEDIA = {
    open_data_export.CSV_FILE: "text/csv; charset=utf-8",
    open_data_export.GEOJSON_FILE: "application/geo+json",
    open_data_export.PARQUET_FILE: "application/vnd.apache.parquet",
    open_data_export.DICTIONARY_JSON: "application/json",
    open_data_export.DICTIONARY_CSV: "text/csv; charset=utf-8",
    open_data_export.MANIFEST: "application/json",
}


def run_export(settings: ProjectionSettings, export_id: str | None = None, on_rows=None) -> ExportResult:
    """One export on a connection of its own (autocommit: the export opens its own read-only transaction)."""
    with psycopg.connect(settings.pg_dsn, autocommit=True, application_name="civicloop-open-data") as conn:
        return open_data_export.export(
            conn,
            settings.open_data_dir,
            export_id=export_id,
            batch_rows=settings.open_data_batch_rows,
            keep=settings.open_data_keep,
            on_rows=on_rows,
        )


def export_with_progress(settings: ProjectionSettings) -> ExportResult:
    """The CLI's export: a progress bar on stderr over the public read model's row count."""
    from rich.console import Console  # typer's own dependency
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        total = open_data_export.count_rows(conn)
    with Bar(
        TextColumn("open-data export"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("export", total=total)
        return run_export(settings, on_rows=lambda n: bar.advance(task, n))


@dataclass
class _Jobs:
    """The exports this process started: at most one runs at a time."""

    running: dict[str, asyncio.Task[ExportResult]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


def _jobs(request: Request) -> _Jobs:
    jobs = getattr(request.app.state, "open_data_jobs", None)
    if jobs is None:
        jobs = request.app.state.open_data_jobs = _Jobs()
    return jobs


def _settings(request: Request) -> ProjectionSettings:
    return request.app.state.service.settings


def _link(export_id: str) -> str:
    return f"/api/v1/admin/open-data/exports/{export_id}"


@router.post(
    "/api/v1/admin/open-data/exports",
    status_code=202,
    summary="Start an open-data export of every request, without personal data (admin; docs/open-data.md)",
)
async def start_export(request: Request, staff: Admin) -> JSONResponse:
    jobs = _jobs(request)
    for export_id, task in jobs.running.items():
        if not task.done():
            return JSONResponse({"export_id": export_id, "state": "running", "href": _link(export_id)}, 202)
    jobs.running.clear()
    export_id = open_data_export.new_export_id()
    settings = _settings(request)

    async def job() -> ExportResult:
        try:
            return await asyncio.to_thread(run_export, settings, export_id)
        except Exception:
            jobs.failed.add(export_id)
            log.exception("open-data export failed", extra={"export_id": export_id})
            raise

    jobs.running[export_id] = asyncio.create_task(job(), name=f"open-data-{export_id}")
    log.info("open-data export started", extra={"export_id": export_id, "staff_id": str(staff.staff_id)})
    return JSONResponse({"export_id": export_id, "state": "running", "href": _link(export_id)}, 202)


@router.get(
    "/api/v1/admin/open-data/exports/{export_id}",
    summary="An open-data export's state: running, failed, or done with its manifest (admin)",
    responses={404: {"description": "no such export"}},
)
async def export_state(request: Request, export_id: ExportId, staff: Admin) -> dict[str, Any]:
    jobs = _jobs(request)
    task = jobs.running.get(export_id)
    if task is not None and not task.done():
        return {"export_id": export_id, "state": "running"}
    if export_id in jobs.failed:
        return {"export_id": export_id, "state": "failed"}
    path = open_data_export.resolve(_settings(request).open_data_dir, export_id)
    if path is None:
        raise HTTPException(404, "no such export")
    manifest = json.loads((path / open_data_export.MANIFEST).read_text(encoding="utf-8"))
    base = _link(manifest["export_id"])
    return {
        "state": "done",
        **manifest,
        "links": {name: f"{base}/{name}" for name in open_data_export.FILES},
    }


@router.get(
    "/api/v1/admin/open-data/exports/{export_id}/{file_name}",
    response_class=FileResponse,
    summary="One file of a finished open-data export (admin)",
    responses={404: {"description": "no such export or file"}},
)
async def export_file(
    request: Request,
    export_id: ExportId,
    file_name: Annotated[str, Path(description="requests.csv, requests.geojson, data-dictionary.json, ...")],
    staff: Admin,
) -> FileResponse:
    if file_name not in MEDIA:
        raise HTTPException(404, "no such file")
    path = open_data_export.resolve(_settings(request).open_data_dir, export_id)
    if path is None:
        raise HTTPException(404, "no such export")
    # The directory is resolved once: a newer export replacing `latest` meanwhile does not mix two exports.
    return FileResponse(path / file_name, media_type=MEDIA[file_name], filename=f"{path.name}-{file_name}")
