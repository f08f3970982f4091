"""Consumer handlers: what reacts to what. Each runs in the consumer runner's transaction (effect + inbox + position)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from civicloop_events import Event, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import RequestImported

from civicloop_projections.domain.agent_request import fold_many, opened_by
from civicloop_projections.domain.catalogue import area_geometry
from civicloop_projections.domain.history import history_entry
from civicloop_projections.service_layer.ports import AgentViewStore, CatalogueStore

log = logging.getLogger("civicloop.projections")


async def when_request_events_update_agent_view(store: AgentViewStore, events: Sequence[Event[Any]]) -> None:
    """Append a batch of events (log order) to their requests' histories and fold them into the requests' rows:
    one read of the rows it touches, one write of those it changed, one insert of the history.

    An event of a request whose submission was never seen (e.g. a status change first) is kept in the history and
    creates no row. Retrying cannot help it: the request's events share a partition, so a submission could only
    arrive after it, behind the very retries that would block that partition; dead-lettering it would take a fact
    out of the request's audited history. A row needs a submission; the history keeps every fact.

    An imported request's `RequestImported` comes before its submission: when the row is created, the imports
    already in its history (in log order) are applied to it.
    """
    # Configuration events belong to `jurisdiction.config`, not to a request's history.
    events = [e for e in events if e.request_id is not None]
    if not events:
        return
    states = await store.load_for_update({e.request_id for e in events if e.request_id is not None})
    opened = opened_by(states, events)
    imports = {
        number: [RequestImported.model_validate(s) for s in summaries]
        for number, summaries in (
            await store.history_summaries(opened, RequestImported.event_type) if opened else {}
        ).items()
    }
    folded = fold_many(states, events, imports)
    await store.append_history([history_entry(e) for e in events])
    for event in folded.unknown:
        log.warning(
            "event of an unknown request kept in history only",
            extra={"request_id": event.request_id, "event_id": str(event.event_id), "type": event.type},
        )
    if folded.changed:
        await store.save(list(folded.changed.values()))


async def when_request_event_update_agent_view(store: AgentViewStore, event: Event[Any]) -> None:
    """One event: a batch of one."""
    await when_request_events_update_agent_view(store, [event])


async def when_jurisdiction_config_changes_update_catalogue(store: CatalogueStore, event: Event[Any]) -> None:
    """Fold service definitions and service areas into the catalogue view, and into the requests they name."""
    payload = event.payload
    if isinstance(payload, ServiceDefined):
        await store.define_service(event)
    elif isinstance(payload, ServiceAreaDefined):
        await store.define_service_area(
            event, area_geometry(event)
        )  # a non-polygon is rejected before any write
