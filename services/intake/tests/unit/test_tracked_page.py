"""The track page's history, rendered from the folded view: what a resident reads of each visit."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from civicloop_events import Actor, ActorKind, Location, SealedPersonalData, ServiceRequestSubmitted
from civicloop_events.payloads import VisitCancelled, VisitScheduled
from civicloop_intake.domain.tracking import fold
from civicloop_intake.pages.rendering import page
from civicloop_intake.service_layer.track import TrackedRequestView
from civicloop_testing.events import request_event

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
VISIT_AT = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def history_of(*payloads) -> str:
    """The `<ol class="history">` of the track page for a pothole report followed by `payloads`."""
    submitted = ServiceRequestSubmitted(
        service_code="pothole",
        description="Deep hole",
        location=Location(lat=38.9, long=-77.0),
        contact=SealedPersonalData(resident_id=uuid4(), nonce="bm9uY2U=", ciphertext="c2VhbGVk"),
    )
    state = None
    for minutes, payload in enumerate((submitted, *payloads)):
        event = request_event(
            payload,
            request_id="7K3D-Q9XA",
            actor=Actor(kind=ActorKind.agent),
            source="agent",
            occurred_at=T0 + timedelta(minutes=minutes),
        )
        state = fold(state, event)
    assert state is not None
    html = page(
        "tracked.html",
        language="en",
        here="/track",
        view=TrackedRequestView(request=state, service_name="Pothole"),
        others=[],
    ).body.decode()
    return html[html.index('<ol class="history">') : html.index("</ol>")]


def test_a_planned_visit_shows_when_where_and_its_public_note():
    history = history_of(
        VisitScheduled(
            visit_id="v-1",
            starts_at=VISIT_AT,
            duration_minutes=60,
            address="1200 Main St",
            public_note="The crew comes in the morning.",
        )
    )
    assert "Visit planned Nov 26, 2026" in history
    assert "(1200 Main St): The crew comes in the morning." in history


def test_a_cancelled_visit_reads_as_cancelled_not_as_planned():
    history = history_of(
        VisitScheduled(visit_id="v-1", starts_at=VISIT_AT, duration_minutes=60, address="1200 Main St"),
        VisitCancelled(visit_id="v-1", starts_at=VISIT_AT, public_note="The crew is needed elsewhere."),
    )
    planned, cancelled = history.split("</li>")[:2]
    assert "Visit planned" in planned
    assert "Visit planned" not in cancelled
    assert "Visit cancelled: The crew is needed elsewhere." in cancelled
