"""The dispatcher: on each submitted request, route it (publish `Routed`) and enqueue it for its body.

It runs as a `ConsumerRunner` handler on `requests.events`, so the queue rows are written in the same transaction as
the consumer's inbox row and position: a crash before the commit leaves neither (the event is applied again), a
crash after leaves both (the event is never applied twice). `Routed` is published from inside that transaction,
before the commit, so a retried handler publishes it again; its event id is derived from the submitted event's id
(uuid5), so the second copy is the same event and every consumer's inbox drops it.

Requests that came from a back-end are not sent back to one: a `source` starting with `backend:`, or a
`RequestImported` seen for the request (it precedes the import's `ServiceRequestSubmitted` on the same key).
"""

from __future__ import annotations

import asyncio
from typing import Any

from civicloop_events import Actor, ActorKind, Event, ServiceRequestSubmitted, derived_event_id
from civicloop_events.payloads import RequestImported, Routed, SendMethod
from civicloop_events.producer import EventProducer

from civicloop_outbound.domain.ports import DispatchPayload
from civicloop_outbound.domain.routing import RoutingDecision, RoutingInput, route
from civicloop_outbound.service_layer import store

OUTBOUND_ACTOR = Actor(kind=ActorKind.system, id="outbound")
OUTBOUND_SOURCE = "outbound"
BACKEND_SOURCE_PREFIX = "backend:"


def from_backend(event: Event[Any]) -> bool:
    return event.source.startswith(BACKEND_SOURCE_PREFIX)


def snapshot(
    event: Event[Any], decision: RoutingDecision, *, service_name: str, area_ids: frozenset[str] | None
) -> DispatchPayload:
    p: ServiceRequestSubmitted = event.payload
    if event.request_id is None:
        raise ValueError(f"event {event.event_id} is a submission without a request number")
    return DispatchPayload(
        request_id=event.request_id,
        jurisdiction_id=event.jurisdiction_id,
        service_code=p.service_code,
        service_name=service_name,
        description=p.description,
        location=p.location,
        area_ids=sorted(area_ids) if area_ids is not None else None,
        attributes=p.attributes,
        media_urls=p.media_urls,
        submitted_at=event.occurred_at,
        source=event.source,
        priority=decision.priority,
        team=decision.team,
        analysis_codes=list(decision.analysis_codes),
        rules=list(decision.rules),
        priority_email=decision.priority_email,
        contact=p.contact,
    )


class Dispatcher:
    def __init__(self, producer: EventProducer, *, publish_timeout_s: float = 10.0) -> None:
        self.producer = producer
        self.publish_timeout_s = publish_timeout_s

    async def __call__(self, conn: store.Conn, event: Event[Any]) -> None:
        p = event.payload
        if isinstance(p, RequestImported) and event.request_id:
            await conn.execute(
                "insert into outbound.outbound_imported (request_id, body_id, external_id) values (%s, %s, %s)"
                " on conflict (request_id) do nothing",
                (event.request_id, p.body_id, p.external_id),
            )
            return
        if not isinstance(p, ServiceRequestSubmitted) or event.request_id is None or from_backend(event):
            return
        cur = await conn.execute(
            "select 1 from outbound.outbound_imported where request_id = %s", (event.request_id,)
        )
        if await cur.fetchone():
            return
        await self.when_submitted_route_and_enqueue(conn, event)

    async def when_submitted_route_and_enqueue(self, conn: store.Conn, event: Event[Any]) -> None:
        p: ServiceRequestSubmitted = event.payload
        j = event.jurisdiction_id
        bodies = [b.definition for b in await store.load_bodies(conn, j)]
        rules = await store.load_rules(conn, j)
        area_ids = await store.areas_at(conn, j, p.location.lat, p.location.long)
        decision = route(
            RoutingInput(
                service_code=p.service_code,
                description=p.description,
                attributes=p.attributes,
                area_ids=area_ids,
            ),
            bodies=bodies,
            rules=rules,
        )
        routed = Event.create(
            Routed(
                body_id=decision.body_id,
                team=decision.team,
                priority=decision.priority,
                analysis_codes=list(decision.analysis_codes),
                rules=list(decision.rules),
            ),
            request_id=event.request_id,
            jurisdiction_id=j,
            actor=OUTBOUND_ACTOR,
            source=OUTBOUND_SOURCE,
            causation=event,
            event_id=derived_event_id("routed", event.event_id),
        )
        # A broker that does not answer fails the handler (the consumer retries it) instead of stalling it.
        await asyncio.wait_for(self.producer.publish(routed), timeout=self.publish_timeout_s)
        if not decision.routed:
            return  # no body handles this category: Routed(body_id=None) says so, for agents to pick up
        name = await store.service_name(conn, j, p.service_code) or p.service_code
        payload = snapshot(event, decision, service_name=name, area_ids=area_ids).model_dump_json()
        rows = [("deliver", decision.method)]
        if decision.priority_email and decision.method is not SendMethod.email:
            rows.append(("priority_copy", SendMethod.email))  # an email sender copies priority_email itself
        for purpose, method in rows:
            if method is None:  # routing decided a delivery, so it named a method
                raise ValueError(f"request {event.request_id}: routed without a send method")
            await conn.execute(
                """insert into outbound.outbound_queue (request_id, jurisdiction_id, body_id, method, purpose, payload,
                                                      causation_id, correlation_id)
                   values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (request_id, body_id, purpose) do nothing""",
                (
                    event.request_id,
                    j,
                    decision.body_id,
                    method.value,
                    purpose,
                    payload,
                    event.event_id,
                    event.correlation_id or event.event_id,
                ),
            )
