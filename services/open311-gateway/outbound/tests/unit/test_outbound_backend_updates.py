"""Which of an agent's actions reach the body that has the request, and how an Open311 update states them."""

from __future__ import annotations

from civicloop_events import Actor, ActorKind
from civicloop_events.payloads import (
    CommentAdded,
    CommentVisibility,
    RequestAssigned,
    RequestStatus,
    StatusChanged,
    VisitScheduled,
)
from civicloop_outbound.domain.backend_updates import (
    UpdateKind,
    open311_status,
    refuses_updates,
    transfer_notice,
    update_of,
)
from civicloop_testing.events import request_event

AGENT = Actor(kind=ActorKind.agent, id="agent-7")
BACKEND = Actor(kind=ActorKind.system, id="outbound")


def by(actor: Actor, payload: object) -> object:
    return request_event(payload, request_id="AAAA-0001", actor=actor, source="agent")  # type: ignore[arg-type]


def test_an_agents_reopening_is_sent_with_its_public_note_or_its_reason() -> None:
    noted = update_of(
        by(
            AGENT,
            StatusChanged(
                status=RequestStatus.open,
                previous_status=RequestStatus.closed,
                reason="not_fixed",
                public_note="Still broken, crew returning",
            ),
        )
    )
    assert noted is not None and noted.kind is UpdateKind.reopen
    assert noted.text == "Still broken, crew returning"
    bare = update_of(
        by(
            AGENT,
            StatusChanged(status=RequestStatus.open, previous_status=RequestStatus.closed, reason="recurred"),
        )
    )
    assert bare is not None and bare.text == "Reopened (recurred)."


def test_only_leaving_closed_is_a_reopening() -> None:
    for before, after in [
        (RequestStatus.open, RequestStatus.acknowledged),
        (RequestStatus.in_progress, RequestStatus.closed),
        (None, RequestStatus.open),
    ]:
        assert update_of(by(AGENT, StatusChanged(status=after, previous_status=before))) is None


def test_a_public_comment_is_sent_and_an_internal_note_never() -> None:
    public = update_of(
        by(
            AGENT,
            CommentAdded(
                text="Crew booked for Monday",
                visibility=CommentVisibility.public,
                media_urls=["https://img.example/1.jpg"],
            ),
        )
    )
    assert public is not None and public.kind is UpdateKind.comment
    assert (public.text, public.media_urls) == ("Crew booked for Monday", ["https://img.example/1.jpg"])
    internal = CommentAdded(text="Resident is difficult", visibility=CommentVisibility.internal)
    assert update_of(by(AGENT, internal)) is None


def test_what_a_back_end_or_a_resident_did_and_other_work_is_not_sent() -> None:
    reopened = StatusChanged(status=RequestStatus.open, previous_status=RequestStatus.closed)
    comment = CommentAdded(text="Fixed it", visibility=CommentVisibility.public)
    assert update_of(by(BACKEND, reopened)) is None  # a back-end's own update never goes back to it
    assert update_of(by(Actor(kind=ActorKind.resident), comment)) is None
    assert update_of(by(Actor(kind=ActorKind.partner, id="p1"), comment)) is None
    assert update_of(by(AGENT, RequestAssigned(team_id="roads"))) is None
    visit = VisitScheduled(
        visit_id="v1", starts_at="2026-12-07T09:00:00Z", duration_minutes=60, address="1 Main St"
    )
    assert update_of(by(AGENT, visit)) is None


def test_a_transfer_notice_uses_the_public_note_or_names_the_new_body() -> None:
    event = by(AGENT, CommentAdded(text="x", visibility=CommentVisibility.public))
    assert transfer_notice(event, public_note=None, new_body_name="Parks").text == (
        "This request has moved to Parks: no further action is needed here."
    )
    assert transfer_notice(event, public_note="Parks will handle it", new_body_name="Parks").text == (
        "Parks will handle it"
    )


def test_open311_status_of_each_update() -> None:
    event = by(AGENT, CommentAdded(text="x", visibility=CommentVisibility.public))
    comment = update_of(event)
    assert comment is not None
    assert open311_status(comment, None) == "OPEN"
    assert open311_status(comment, "in_progress") == "OPEN"
    assert open311_status(comment, "closed") == "CLOSED"  # a comment never reopens it at the back-end
    reopen = update_of(
        by(AGENT, StatusChanged(status=RequestStatus.open, previous_status=RequestStatus.closed))
    )
    assert reopen is not None and open311_status(reopen, "closed") == "OPEN"
    notice = transfer_notice(event, public_note=None, new_body_name="Parks")
    assert open311_status(notice, "open") == "CLOSED"


def test_refusals_that_mean_no_updates_endpoint() -> None:
    assert [s for s in (400, 403, 404, 405, 409, 429, 500, 501, 503) if refuses_updates(s)] == [404, 405, 501]
