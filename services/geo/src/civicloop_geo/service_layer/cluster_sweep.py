"""The periodic sweep that announces hot spots (`ClusterDetected`) for the heat-map and for selfheal."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import ClusterDetected
from civicloop_places import public_place

from civicloop_geo.domain.clusters import ClusterFound, cluster_id, is_news
from civicloop_geo.service_layer.handlers import GEO_ACTOR, GEO_SOURCE
from civicloop_geo.service_layer.ports import ClusterStore, EventPublisher

log = logging.getLogger("civicloop.geo.clusters")


@dataclass(frozen=True)
class ClusterPolicy:
    eps_m: float = 250.0
    min_points: int = 5
    window: timedelta = timedelta(hours=72)
    public_h3_resolution: int = 9


def cluster_event(
    jurisdiction_id: str, found: ClusterFound, policy: ClusterPolicy, *, since: datetime, until: datetime
) -> Event[Any]:
    cid = cluster_id(jurisdiction_id, found)
    centre = public_place(found.centre_lat, found.centre_long, resolution=policy.public_h3_resolution)
    return Event.create(
        ClusterDetected(
            cluster_id=str(cid),
            service_code=found.service_code,
            request_ids=list(found.request_ids),
            centre=centre,
            radius_m=found.radius_m,
            area_ids=list(found.area_ids),
            window_start=since,
            window_end=until,
            eps_m=policy.eps_m,
            min_points=policy.min_points,
        ),
        request_id=None,
        jurisdiction_id=jurisdiction_id,
        actor=GEO_ACTOR,
        source=GEO_SOURCE,
        event_id=cid,
    )


async def sweep(
    store: ClusterStore, publisher: EventPublisher, policy: ClusterPolicy, *, now: datetime
) -> list[Event[Any]]:
    """Announce each new cluster once: published first, then remembered, so a crash between re-announces it with
    the same event id (dropped by inboxes) instead of losing it."""
    since = now - policy.window
    announced_events = []
    for jurisdiction_id in await store.jurisdictions_with_recent_requests(since):
        already = await store.announced_since(jurisdiction_id, since)
        for found in await store.find_clusters(
            jurisdiction_id, since=since, until=now, eps_m=policy.eps_m, min_points=policy.min_points
        ):
            if not is_news(found, already, eps_m=policy.eps_m):
                continue
            event = cluster_event(jurisdiction_id, found, policy, since=since, until=now)
            await publisher.publish(event)
            await store.remember(str(event.event_id), jurisdiction_id, found, now)
            announced_events.append(event)
            log.info(
                "cluster detected",
                extra={
                    "jurisdiction_id": jurisdiction_id,
                    "service_code": found.service_code,
                    "size": len(found.request_ids),
                },
            )
    return announced_events
