"""POST servicerequestupdates.{xml|json} on the real broker and PostGIS (FX-10, FX-11, ST-02)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from civicloop_events.payloads import CommentAdded, CommentVisibility, RequestStatus, StatusChanged
from civicloop_testing.open311_catalogue import streetlight_form
from write_harness import CITY, WriteGateway, answers, errors, items

pytestmark = pytest.mark.integration


async def new_request(gw: WriteGateway, fmt: str) -> str:
    return answers(await gw.submit(fmt, **streetlight_form()), fmt)[0]["service_request_id"]


def update_body(gw: WriteGateway, number: str, **fields: str | None) -> dict[str, str]:
    body: dict[str, str | None] = {
        "api_key": gw.partner.key,
        "jurisdiction_id": CITY,
        "service_request_id": number,
        "update_id": uuid.uuid4().hex[:12],
        "status": "IN_PROGRESS",
        "updated_datetime": "2026-11-22T10:15:00Z",
        "description": "Crew on site",
        "first_name": "Marge",
        "last_name": "-",
        "email": "marge@example.org",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def update_ids(r: httpx.Response, fmt: str) -> list[str]:
    assert r.status_code == 200, f"{r.status_code}: {r.text[:500]}"
    return [u["update_id"] for u in items(r, fmt, root="service_request_updates", item="request_update")]


async def test_fx10_comment_and_status_change_are_published(write_gw: WriteGateway, fmt: str) -> None:
    """FX-10, ST-02: a public `CommentAdded` and a `StatusChanged` (IN_PROGRESS -> in_progress) on the topic;
    the answer is one `request_update` with our update id (the id of the update's first event)."""
    number = await new_request(write_gw, fmt)
    r = await write_gw.post(
        "servicerequestupdates",
        fmt,
        update_body(write_gw, number, media_url="https://photos.example.org/crew.jpg"),
    )
    [update_id] = update_ids(r, fmt)
    events = (await write_gw.events_of(number))[1:]
    assert [type(e.payload) for e in events] == [CommentAdded, StatusChanged]
    comment, change = events
    assert str(comment.event_id) == update_id
    assert comment.payload.text == "Crew on site" and comment.payload.visibility is CommentVisibility.public
    assert comment.payload.media_urls == ["https://photos.example.org/crew.jpg"]
    assert (
        change.payload.status is RequestStatus.in_progress
        and change.payload.previous_status is RequestStatus.open
    )
    assert change.payload.external_status_code == "IN_PROGRESS"
    assert all(e.source == "open311:cityapp" and e.actor.id == "cityapp" for e in events)
    assert comment.occurred_at.isoformat() == "2026-11-22T10:15:00+00:00"
    assert "marge" not in r.text.lower() and all("marge" not in e.model_dump_json().lower() for e in events)


async def test_fx10_retry_with_the_same_update_id_publishes_nothing_new(
    write_gw: WriteGateway, fmt: str
) -> None:
    """FX-10: the partner's update_id makes retries safe: same answer, no second comment."""
    number = await new_request(write_gw, fmt)
    body = update_body(write_gw, number, status="FIXED", description="Lamp replaced")
    [first] = update_ids(await write_gw.post("servicerequestupdates", fmt, body), fmt)
    [again] = update_ids(await write_gw.post("servicerequestupdates", fmt, body), fmt)
    assert again == first
    kinds = [type(e.payload) for e in await write_gw.events_of(number)][1:]
    assert kinds == [CommentAdded, StatusChanged]


async def test_fx11_update_id_reused_for_other_content_is_400(write_gw: WriteGateway, fmt: str) -> None:
    """FX-11: an update_id that already exists with other content is refused ("already exists")."""
    number = await new_request(write_gw, fmt)
    body = update_body(write_gw, number)
    update_ids(await write_gw.post("servicerequestupdates", fmt, body), fmt)
    r = await write_gw.post("servicerequestupdates", fmt, {**body, "description": "Something else"})
    assert "already exists" in errors(r, fmt, 400)


async def test_fx10_same_status_publishes_only_the_comment(write_gw: WriteGateway, fmt: str) -> None:
    """ST-02: FixMyStreet sends a status with every comment; OPEN on an open request changes nothing."""
    number = await new_request(write_gw, fmt)
    update_ids(
        await write_gw.post(
            "servicerequestupdates",
            fmt,
            update_body(write_gw, number, status="OPEN", description="Still dark"),
        ),
        fmt,
    )
    kinds = [type(e.payload) for e in await write_gw.events_of(number)][1:]
    assert kinds == [CommentAdded]


async def test_fx10_unknown_request_is_404(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.post("servicerequestupdates", fmt, update_body(write_gw, "ZZZZ-ZZZZ"))
    assert "ZZZZ-ZZZZ" in errors(r, fmt, 404)


async def test_fx10_another_partners_request_is_403(write_gw: WriteGateway, fmt: str) -> None:
    """A partner updates only the requests it submitted."""
    number = await new_request(write_gw, fmt)
    body = update_body(write_gw, number, api_key=write_gw.second.key)
    assert "second-app" in errors(await write_gw.post("servicerequestupdates", fmt, body), fmt, 403)
    assert len(await write_gw.events_of(number)) == 1


async def test_fx10_api_key_required_and_bad_status_is_400(write_gw: WriteGateway, fmt: str) -> None:
    """G-70 for updates (api_key required, FX-10); ST-02: an unknown status is a 400 naming it."""
    number = await new_request(write_gw, fmt)
    body = update_body(write_gw, number, api_key=None)
    assert "api_key" in errors(await write_gw.post("servicerequestupdates", fmt, body), fmt, 403)
    body = update_body(write_gw, number, status="SORTED")
    assert "SORTED" in errors(await write_gw.post("servicerequestupdates", fmt, body), fmt, 400)
    body = update_body(write_gw, number, updated_datetime=None)
    assert "updated_datetime" in errors(await write_gw.post("servicerequestupdates", fmt, body), fmt, 400)
    assert len(await write_gw.events_of(number)) == 1
