"""The requeue of a given-up report (`request.delivery.requeued`), whoever asks for it: the operator's CLI
(`civicloop-outbound requeue`) or an admin over HTTP (`entrypoints.body_admin`).

Its id derives from the queue row and how many times the row was requeued, whoever asks: two asks for the same
given-up report before the first is applied publish the same event (dropped as a repeat), and a report given up
again after a requeue is requeued again."""

from __future__ import annotations

from civicloop_events import Actor, Event, derived_event_id
from civicloop_events.payloads import DeliveryRequeued, StuckReason

from civicloop_outbound.service_layer.store import GivenUp

# Named when only the CLI requeued; kept, so that ids (and the repeats they drop) stay as they were.
ID_NAMESPACE = "outbound-cli.requeue"


def requeue_event(item: GivenUp, *, actor: Actor, source: str) -> Event[DeliveryRequeued]:
    return Event.create(
        DeliveryRequeued(body_id=item.body_id, reason=StuckReason.delivery_given_up, attempts=item.attempts),
        request_id=item.request_id,
        jurisdiction_id=item.jurisdiction_id,
        actor=actor,
        source=source,
        event_id=derived_event_id(ID_NAMESPACE, item.seq, item.requeues),
    )
