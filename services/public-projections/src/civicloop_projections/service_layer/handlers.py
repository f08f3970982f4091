"""Consumer handlers: what reacts to what. Each runs in the consumer runner's transaction (effect + inbox + position)."""

from __future__ import annotations

import logging
from typing import Any

from civicloop_events import Event, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import RequestImported

from civicloop_projections.domain.agent_request import fold, imported
from civicloop_projections.domain.catalogue import area_geometry
from civicloop_projections.domain.history import history_entry
from civicloop_projections.service_layer.ports import AgentViewStore, CatalogueStore

log = logging.getLogger("civicloop.projections")


async def when_request_event_update_agent_view(store: AgentViewStore, event: Event[Any]) -> None:
    """Append the event to the request's history and fold it into the request's row.

    An event of a request whose submission was never seen (e.g. a status change first) is kept in the history and
    creates no row. Retrying cannot help it: the request's events share a partition, so a submission could only
    arrive after it, behind the very retries that would block that partition; dead-lettering it would take a fact
    out of the request's audited history. A row needs a submission; the history keeps every fact.

    An imported request's `RequestImported` comes before its submission: when the row is created, the imports
    already in its history (in log order) are applied to it.
    """
    if event.request_id is None:
        return  # configuration events belong to `jurisdiction.config`, not to a request's history
    await store.append_history(history_entry(event))
    state = await store.load_for_update(event.request_id)
    new_state = fold(state, event)
    if state is None and new_state is not None:
        for summary in await store.history_summaries(event.request_id, RequestImported.event_type):
            new_state = imported(new_state, RequestImported.model_validate(summary))
    if new_state is None:
        log.warning(
            "event of an unknown request kept in history only",
            extra={"request_id": event.request_id, "event_id": str(event.event_id), "type": event.type},
        )
        return
    await store.save(new_state)


async def when_jurisdiction_config_changes_update_catalogue(store: CatalogueStore, event: Event[Any]) -> None:
    """Fold service definitions and service areas into the catalogue view, and into the requests they name."""
    payload = event.payload
    if isinstance(payload, ServiceDefined):
        await store.define_service(event)
    elif isinstance(payload, ServiceAreaDefined):
        await store.define_service_area(
            event, area_geometry(event)
        )  # a non-polygon is rejected before any write
