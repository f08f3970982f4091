"""Public-records exports for auditors: `GET /api/v1/staff/requests/{number}/records` (role auditor; everyone else
is refused). The request's complete history from the log as JSON, HTML or PDF, redacted unless `unsealed=true`; the
export is on the log (`request.records.exported`) before the answer."""

from __future__ import annotations

from typing import Annotated, Any

from civicloop_events.history import IndexSource, request_history
from civicloop_events.payloads.records import ExportFormat
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, require_staff
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, Response

from civicloop_intake.adapters.records_documents import to_html, to_json, to_pdf
from civicloop_intake.bootstrap import Intake
from civicloop_intake.domain.records_export import RecordsExport
from civicloop_intake.domain.staff import self_actor
from civicloop_intake.entrypoints.routes import IntakeDep
from civicloop_intake.service_layer.records import HistoryReader, UnknownRequest, export_records

records_router = APIRouter(prefix="/api/v1/staff/requests", tags=["public records"])

Auditor = Annotated[StaffPrincipal, Depends(require_staff(Role.auditor))]


def history_reader(intake: Intake) -> HistoryReader:
    """The request's history through the request index when intake is given its database, else the whole topic."""
    s = intake.settings
    index = IndexSource(s.request_index_dsn) if s.request_index_dsn else None

    async def read(number: str) -> list[dict[str, Any]]:
        history, _ = await request_history(s.kafka_bootstrap, s.topics.request_events, number, index=index)
        return history

    return read


def document(export_format: ExportFormat, export: RecordsExport) -> Response:
    name = f"records-{export.request_number}"
    if export_format is ExportFormat.html:
        return HTMLResponse(to_html(export))
    if export_format is ExportFormat.pdf:
        return Response(
            to_pdf(export),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return Response(to_json(export), media_type="application/json")


@records_router.get(
    "/{number}/records",
    responses={**STAFF_RESPONSES, 404: {"description": "no such request in the auditor's jurisdiction"}},
    response_class=Response,
)
async def export_request_records(
    intake: IntakeDep,
    auditor: Auditor,
    number: Annotated[str, Path(min_length=1, max_length=32, description="the request number")],
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.json,
    unsealed: Annotated[
        bool, Query(description="show personal data (only when a records request allows it)")
    ] = False,
    reason: Annotated[
        str | None, Query(max_length=200, description="the records request's reference, never personal data")
    ] = None,
) -> Response:
    try:
        export = await export_records(
            number,
            read_history=history_reader(intake),
            vault=intake.vault,
            event_log=intake.event_log,
            actor=self_actor(auditor.staff_id),
            export_format=export_format,
            unseal=unsealed,
            source="auditor",
            jurisdiction_id=auditor.jurisdiction_id,
            reason=reason,
        )
    except UnknownRequest:
        raise HTTPException(404, "unknown_request") from None
    return document(export_format, export)
