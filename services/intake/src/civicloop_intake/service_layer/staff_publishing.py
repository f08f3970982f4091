"""Staff events reach the log before anyone hears "yes": each change is stored with its event (the staff store's
outbox), then published here; a change left pending is published by its retry or by the sweeper."""

from __future__ import annotations

import logging
from uuid import UUID

from civicloop_events.outbox import EventLog

from civicloop_intake.service_layer.publishing import publish_kept
from civicloop_intake.service_layer.staff_ports import StaffStore

log = logging.getLogger("civicloop.intake.staff")


async def publish_change(store: StaffStore, config_log: EventLog, event_id: UUID, *, what: str) -> None:
    await publish_kept(
        store,
        config_log,
        str(event_id),
        log=log,
        message=what,
        context={"event_id": str(event_id)},
        stored_now=True,
    )
