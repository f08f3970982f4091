"""Public-records exports (MPIA / FOIA): a request's history from the log, redacted unless an auditor asks, and the
export recorded on the log (`request.records.exported`) before the document is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from civicloop_events import Actor, Event
from civicloop_events.outbox import EventLog
from civicloop_events.payloads.records import ExportFormat, RecordsExported
from civicloop_events.personal_data import PersonalDataUnreadable, SealedPersonalData

from civicloop_intake.domain.records_export import RecordsExport, build_export, sealed_contacts
from civicloop_intake.service_layer.ports import Vault

HistoryReader = Callable[[str], Awaitable[list[dict[str, Any]]]]


class UnknownRequest(LookupError):
    """No event of this request on the log (or, for a staff member, not in their jurisdiction)."""


async def export_records(
    request_number: str,
    *,
    read_history: HistoryReader,
    vault: Vault,
    event_log: EventLog,
    actor: Actor,
    export_format: ExportFormat,
    unseal: bool,
    source: str,
    jurisdiction_id: str | None = None,
    reason: str | None = None,
) -> RecordsExport:
    """The export of the request's history; its `request.records.exported` event is acknowledged by the broker
    before this returns (an export the log cannot record is not given: `EventLogUnavailable`)."""
    history = await read_history(request_number)
    if not history or (jurisdiction_id is not None and history[0]["jurisdiction_id"] != jurisdiction_id):
        raise UnknownRequest(request_number)
    opened: dict[str, dict[str, Any] | None] | None = None
    if unseal:
        opened = {}
        for blob in sealed_contacts(history):
            try:
                data = await vault.unseal(SealedPersonalData.model_validate(blob))
                opened[blob["ciphertext"]] = data.model_dump(exclude_none=True)
            except PersonalDataUnreadable:
                opened[blob["ciphertext"]] = None
    exported_at = datetime.now(UTC)
    export = build_export(
        history,
        request_number=request_number,
        exported_at=exported_at,
        exported_by=f"{actor.kind.value}:{actor.id}",
        unsealed=opened,
        reason=reason,
    )
    await event_log.publish(
        Event.create(
            RecordsExported(
                export_format=export_format,
                redacted=export.redacted,
                events=len(export.events),
                through_offset=export.through_offset,
                reason=reason,
            ),
            request_id=request_number,
            jurisdiction_id=history[0]["jurisdiction_id"],
            actor=actor,
            source=source,
            occurred_at=exported_at,
        )
    )
    return export
