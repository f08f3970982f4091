"""The staff directory, folded exactly once from the config topic (the consumer's inbox), and the notices staff
are owed, queued by the requests consumer in the transaction that folds selfheal's events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import (
    StaffCreated,
    StaffDisabled,
    StaffEnabled,
    StaffRolesChanged,
    StaffTeamsChanged,
    TeamDefined,
)

from civicloop_notifier.domain.staff import staff_notice_for
from civicloop_notifier.service_layer.staff_ports import StaffStore


async def when_staff_event_update_directory(store: StaffStore, event: Event[Any]) -> None:
    p = event.payload
    if isinstance(p, StaffCreated):
        await store.staff_created(
            p.staff_id,
            jurisdiction_id=event.jurisdiction_id,
            contact=p.contact,
            roles=[r.value for r in p.roles],
            teams=list(p.teams),
        )
    elif isinstance(p, StaffRolesChanged):
        await store.staff_roles(p.staff_id, [r.value for r in p.roles])
    elif isinstance(p, StaffTeamsChanged):
        await store.staff_teams(p.staff_id, list(p.teams))
    elif isinstance(p, StaffDisabled | StaffEnabled):
        await store.staff_active(p.staff_id, isinstance(p, StaffEnabled))
    elif isinstance(p, TeamDefined):
        await store.team_defined(event.jurisdiction_id, p.team_id, name=p.name, active=p.active)


async def when_selfheal_event_queue_staff_notice(
    store: StaffStore, event: Event[Any], *, now: datetime, max_age: timedelta
) -> bool:
    """Queue what staff are owed for `event` (once: keyed by the event); an old event is told to nobody."""
    notice = staff_notice_for(event)
    if notice is None or now - event.occurred_at > max_age:
        return False
    return await store.queue_notice(
        cause_event_id=event.event_id,
        jurisdiction_id=event.jurisdiction_id,
        request_id=event.request_id,
        notice=notice,
        occurred_at=event.occurred_at,
    )
