"""selfheal's view folded from the log, each event once (the consumers' inbox): `when_<event>_<do_what>`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import (
    BodyPaused,
    BodyPollFailing,
    BodyPollRecovered,
    BodyResumed,
    ClusterDetected,
    SlaDefined,
)

from civicloop_selfheal.domain.view import BodyView, ClusterView, RequestView, request_after
from civicloop_selfheal.service_layer.ports import ViewStore


async def when_request_events_update_view(store: ViewStore, events: Sequence[Event[Any]]) -> None:
    """A batch of `requests.events`: each request's view loaded once, its events folded in log order, saved once;
    a hot spot's announcement kept with its members."""
    numbers = {e.request_id for e in events if e.request_id is not None}
    views: dict[str, RequestView | None] = dict(await store.requests(numbers)) if numbers else {}
    changed: set[str] = set()
    for event in events:
        if event.request_id is None:
            if isinstance(event.payload, ClusterDetected):
                await store.save_cluster(_cluster(event))
            continue
        before = views.get(event.request_id)
        after = request_after(before, event)
        if after is not before:
            views[event.request_id] = after
            changed.add(event.request_id)
    await store.save_requests(v for n, v in views.items() if n in changed and v is not None)


def _cluster(event: Event[Any]) -> ClusterView:
    p: ClusterDetected = event.payload
    return ClusterView(
        cluster_id=p.cluster_id,
        jurisdiction_id=event.jurisdiction_id,
        service_code=p.service_code,
        request_numbers=tuple(p.request_ids),
        detected_at=event.occurred_at,
        area_ids=tuple(p.area_ids),
    )


async def when_config_changes_update_bodies_and_sla(store: ViewStore, event: Event[Any]) -> None:
    """Bodies paused or resumed, their poll streaks, and each jurisdiction's SLA definition (the latest wins)."""
    p = event.payload
    if isinstance(p, SlaDefined):
        await store.save_sla(event.jurisdiction_id, p)
        return
    if not isinstance(p, BodyPaused | BodyResumed | BodyPollFailing | BodyPollRecovered):
        return
    body = await store.body(event.jurisdiction_id, p.body_id) or BodyView(event.jurisdiction_id, p.body_id)
    if isinstance(p, BodyPaused):
        body = replace(body, paused=True)
    elif isinstance(p, BodyResumed):
        body = replace(body, paused=False)
    elif isinstance(p, BodyPollFailing):
        body = replace(body, failing_since=p.failing_since, failures=p.failures)
    else:
        body = replace(body, failing_since=None, failures=0)
    await store.save_body(body)
