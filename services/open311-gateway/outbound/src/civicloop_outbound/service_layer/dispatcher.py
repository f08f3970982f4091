"""The dispatcher: on each submitted request, route it (publish `Routed`) and enqueue it for its body.

It runs as a `ConsumerRunner` batch handler on `requests.events`, so the queue rows are written in the same
transaction as the consumer's inbox rows and position: a crash before the commit leaves neither (the events are
applied again), a crash after leaves both (no event is applied twice). `Routed` is published from inside that
transaction, before the commit, so a retried batch (or a batch retried one event at a time) publishes it again; its
event id is derived from the submitted event's id (uuid5), so the second copy is the same event and every
consumer's inbox drops it. A batch reads each kind of row once (imports, bodies and rules per jurisdiction, the
areas of every point, service names), publishes its `Routed` events together and queues its rows in one statement.

Agents' work on a request a body already has (`follow_work`): a reopening or a public comment is queued as an
`update` row for the body of the request's latest delivery, behind that delivery in the body's order; a category
change that routes to another body queues a delivery there and a transfer notice for the old body
(`domain/backend_updates.py`). These rows are keyed by the event, so a batch applied again queues nothing new.

A `request.delivery.requeued` (selfheal, or `civicloop-outbound requeue`) puts the request's given-up or still
queued reports to the body back on the queue with fresh attempts (`store.requeue`), after the batch's own work.

Requests that came from a back-end are not sent back to one: a `source` starting with `backend:`, or a
`RequestImported` seen for the request (it precedes the import's `ServiceRequestSubmitted` on the same key).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from civicloop_events import Actor, ActorKind, Event, ServiceRequestSubmitted, derived_event_id
from civicloop_events.payloads import CategoryChanged, DeliveryRequeued, RequestImported, Routed, SendMethod
from civicloop_events.producer import EventProducer

from civicloop_outbound.domain.backend_updates import (
    TAKES_UPDATES,
    BackendUpdate,
    by_staff,
    transfer_notice,
    update_of,
)
from civicloop_outbound.domain.ports import DispatchPayload
from civicloop_outbound.domain.routing import RoutingDecision, RoutingInput, route
from civicloop_outbound.service_layer import store

log = logging.getLogger("civicloop.outbound.dispatcher")
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


def to_route(events: Sequence[Event[Any]], *, imported: set[str]) -> list[Event[ServiceRequestSubmitted]]:
    """The submissions of a batch to route, in log order: not from a back-end, and no `RequestImported` for their
    request before them (`imported`: those folded before the batch; the batch's own count from where they are)."""
    imported = set(imported)
    submissions = []
    for event in events:
        p = event.payload
        if isinstance(p, RequestImported) and event.request_id:
            imported.add(event.request_id)
        elif (
            isinstance(p, ServiceRequestSubmitted)
            and event.request_id is not None
            and not from_backend(event)
            and event.request_id not in imported
        ):
            submissions.append(event)
    return submissions


def routed_event(event: Event[ServiceRequestSubmitted], decision: RoutingDecision) -> Event[Routed]:
    """The decision on the log; its id is derived from the submission's, so publishing it again is the same event."""
    return _routed(event, decision, kind="routed")


def _routed(event: Event[Any], decision: RoutingDecision, *, kind: str) -> Event[Routed]:
    return Event.create(
        Routed(
            body_id=decision.body_id,
            team=decision.team,
            priority=decision.priority,
            analysis_codes=list(decision.analysis_codes),
            rules=list(decision.rules),
        ),
        request_id=event.request_id,
        jurisdiction_id=event.jurisdiction_id,
        actor=OUTBOUND_ACTOR,
        source=OUTBOUND_SOURCE,
        causation=event,
        event_id=derived_event_id(kind, event.event_id),
    )


def queue_rows(
    event: Event[ServiceRequestSubmitted],
    decision: RoutingDecision,
    *,
    service_name: str,
    area_ids: frozenset[str] | None,
) -> list[store.QueueRow]:
    """What a routed submission queues: its delivery, and a priority copy by email when routing asks for one."""
    if not decision.routed or decision.body_id is None:
        return []  # no body handles this category: Routed(body_id=None) says so, for agents to pick up
    payload = snapshot(event, decision, service_name=service_name, area_ids=area_ids).model_dump_json()
    sends = [("deliver", decision.method)]
    if decision.priority_email and decision.method is not SendMethod.email:
        sends.append(("priority_copy", SendMethod.email))  # an email sender copies priority_email itself
    rows = []
    for purpose, method in sends:
        if method is None:  # routing decided a delivery, so it named a method
            raise ValueError(f"request {event.request_id}: routed without a send method")
        rows.append(
            (
                event.request_id or "",
                event.jurisdiction_id,
                decision.body_id,
                method.value,
                purpose,
                payload,
                event.event_id,
                event.correlation_id or event.event_id,
                "",
            )
        )
    return rows


def update_rows(event: Event[Any], delivery: store.Delivery, update: BackendUpdate) -> list[store.QueueRow]:
    """The update's row for the body of the request's latest delivery (none for a body that takes no updates). It
    carries the delivery's snapshot, so the sender has the request's details beside the update."""
    if delivery.method not in TAKES_UPDATES:
        return []
    payload = delivery.payload.model_copy(update={"update": update})
    return [
        (
            delivery.request_id,
            delivery.jurisdiction_id,
            delivery.body_id,
            delivery.method.value,
            "update",
            payload.model_dump_json(),
            event.event_id,
            event.correlation_id or event.event_id,
            str(update.event_id),
        )
    ]


def rerouted_event(event: Event[CategoryChanged], decision: RoutingDecision) -> Event[Routed]:
    """The new routing on the log after a category change; its id derives from the change's."""
    return _routed(event, decision, kind="rerouted")


class Dispatcher:
    """The dispatcher's batch handler (`dispatch`) and its one-event form (calling it)."""

    def __init__(self, producer: EventProducer, *, publish_timeout_s: float = 10.0) -> None:
        self.producer = producer
        self.publish_timeout_s = publish_timeout_s

    async def __call__(self, conn: store.Conn, event: Event[Any]) -> None:
        await self.dispatch(conn, [event])

    async def dispatch(self, conn: store.Conn, events: Sequence[Event[Any]]) -> None:
        """A batch of request events (one partition's, in log order): the imports remembered, each submission
        routed and queued, with one query per kind of row rather than per event."""
        imports = [
            (e.request_id, e.payload.body_id, e.payload.external_id)
            for e in events
            if isinstance(e.payload, RequestImported) and e.request_id
        ]
        candidates = [e.request_id for e in to_route(events, imported=set()) if e.request_id]
        imported_before = await store.imported_among(conn, candidates)
        await store.remember_imports(conn, imports)
        submissions = to_route(events, imported=imported_before)
        if submissions:
            await self.route_and_enqueue(conn, submissions)
        await self.follow_work(conn, events)
        await self.requeue(conn, events)

    async def requeue(self, conn: store.Conn, events: Sequence[Event[Any]]) -> None:
        """`request.delivery.requeued`: the request's given-up (or still queued) reports to the body go back on the
        queue with fresh attempts, in their place in the body's order; once per event (the consumer's inbox)."""
        for event in events:
            p = event.payload
            if not isinstance(p, DeliveryRequeued) or not event.request_id:
                continue
            seqs = await store.requeue(
                conn, request_id=event.request_id, jurisdiction_id=event.jurisdiction_id, body_id=p.body_id
            )
            log.info(
                "requeued" if seqs else "nothing to requeue (sent, or never queued for the body)",
                extra={
                    "request_id": event.request_id,
                    "body_id": p.body_id,
                    "seqs": seqs,
                    "reason": p.reason.value,
                },
            )

    async def follow_work(self, conn: store.Conn, events: Sequence[Event[Any]]) -> None:
        """After the batch's submissions are queued: agents' work on requests a body has, in log order (an update
        follows the latest delivery, which a category change earlier in the batch may have moved)."""
        for event in events:
            if not event.request_id or not by_staff(event):
                continue
            if isinstance(event.payload, CategoryChanged):
                await self.reroute(conn, event)
            elif (update := update_of(event)) is not None:
                delivery = await store.latest_delivery(conn, event.request_id)
                if delivery is not None:
                    await store.enqueue(conn, update_rows(event, delivery, update))

    async def reroute(self, conn: store.Conn, event: Event[CategoryChanged]) -> None:
        """Routing runs again on the new category, from the snapshot of the request's latest delivery. A new body
        gets the request (a `Routed` on the log, a delivery queued) and the old one a transfer notice; the same body,
        or no body for the new category, leaves things as they are."""
        if event.request_id is None:
            return
        delivery = await store.latest_delivery(conn, event.request_id)
        if delivery is None:
            return  # never sent to a body (or came from one): nothing to move
        p = event.payload
        bodies = await store.load_bodies(conn, event.jurisdiction_id)
        rules = await store.load_rules(conn, event.jurisdiction_id)
        before = delivery.payload
        decision = route(
            RoutingInput(
                service_code=p.service_code,
                description=before.description,
                attributes=before.attributes,
                area_ids=frozenset(before.area_ids) if before.area_ids is not None else None,
            ),
            bodies=[b.definition for b in bodies],
            rules=rules,
        )
        new_body_id, method = decision.body_id, decision.method
        if new_body_id is None or method is None or new_body_id == delivery.body_id:
            return
        await asyncio.wait_for(
            self.producer.publish(rerouted_event(event, decision)), timeout=self.publish_timeout_s
        )
        name = (await store.service_name(conn, event.jurisdiction_id, p.service_code)) or p.service_code
        moved = before.model_copy(
            update={
                "service_code": p.service_code,
                "service_name": name,
                "priority": decision.priority,
                "team": decision.team,
                "analysis_codes": list(decision.analysis_codes),
                "rules": list(decision.rules),
                "priority_email": decision.priority_email,
            }
        )
        cause = (event.event_id, event.correlation_id or event.event_id)
        sends = [("deliver", method)]
        if decision.priority_email and method is not SendMethod.email:
            sends.append(("priority_copy", SendMethod.email))  # as for a submission (`queue_rows`)
        rows: list[store.QueueRow] = [
            (
                event.request_id,
                event.jurisdiction_id,
                new_body_id,
                send_method.value,
                purpose,
                moved.model_dump_json(),
                *cause,
                str(event.event_id),  # keyed by the change: a move back to a body that had it delivers again
            )
            for purpose, send_method in sends
        ]
        new_body = next((b for b in bodies if b.body_id == new_body_id), None)
        notice = transfer_notice(
            event,
            public_note=p.public_note,
            new_body_name=new_body.definition.name if new_body else new_body_id,
        )
        rows += update_rows(event, delivery, notice)
        await store.enqueue(conn, rows)

    async def route_and_enqueue(
        self, conn: store.Conn, submissions: Sequence[Event[ServiceRequestSubmitted]]
    ) -> None:
        contexts = {}
        for j in sorted({e.jurisdiction_id for e in submissions}):
            bodies = [b.definition for b in await store.load_bodies(conn, j)]
            contexts[j] = (bodies, await store.load_rules(conn, j))
        points = {
            e.event_id: (e.jurisdiction_id, loc.lat, loc.long)
            for e in submissions
            if (loc := e.payload.location).lat is not None and loc.long is not None
        }
        found = await store.areas_at_points(conn, list(points.values()))
        areas = dict(zip(points, found, strict=True))
        decisions = []
        for event in submissions:
            p = event.payload
            bodies, rules = contexts[event.jurisdiction_id]
            area_ids = areas.get(event.event_id)
            routing = RoutingInput(
                service_code=p.service_code,
                description=p.description,
                attributes=p.attributes,
                area_ids=area_ids,
            )
            decisions.append((event, route(routing, bodies=bodies, rules=rules), area_ids))
        # A broker that does not answer fails the batch (the consumer retries it) instead of stalling it.
        await asyncio.wait_for(
            self.producer.publish_many([routed_event(e, d) for e, d, _ in decisions]),
            timeout=self.publish_timeout_s,
        )
        routed = [(e, d, a) for e, d, a in decisions if d.routed]
        names = await store.service_names(
            conn, sorted({(e.jurisdiction_id, e.payload.service_code) for e, _, _ in routed})
        )
        rows = []
        for event, decision, area_ids in routed:
            name = (
                names.get((event.jurisdiction_id, event.payload.service_code)) or event.payload.service_code
            )
            rows += queue_rows(event, decision, service_name=name, area_ids=area_ids)
        await store.enqueue(conn, rows)
