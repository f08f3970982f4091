"""POST requests.{xml|json} on the real broker and PostGIS (§9 items 5-7; PR-01..PR-11, G-70, TK-01..TK-03)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

import pytest
from civicloop_events import request_numbers
from civicloop_events.payloads import ServiceRequestSubmitted
from civicloop_events.request_numbers import parse as parse_number
from civicloop_testing.open311_catalogue import BULKY, GRAFFITI, streetlight_form, unique
from write_harness import CITY, WriteGateway, answers, as_form, errors

pytestmark = pytest.mark.integration

CONTACT = {
    "email": "homer.simpson@example.org",
    "phone": "+1 217 555 0123",
    "first_name": "Homer",
    "last_name": "Simpson",
    "device_id": "device-tt222111",
    "account_id": "acct-8841",
}
CLEAR_CONTACT = ("homer.simpson", "Homer", "Simpson", "tt222111", "acct-8841", "2175550123", "555 0123")


async def submitted(gw: WriteGateway, number: str) -> ServiceRequestSubmitted:
    events = [e for e in await gw.events_of(number) if isinstance(e.payload, ServiceRequestSubmitted)]
    assert len(events) == 1, f"{len(events)} submissions of {number} on the topic"
    return events[0].payload


# -- api_key (G-70..G-73) ---------------------------------------------------------------------------------------


async def test_g70_no_api_key_is_403(write_gw: WriteGateway, fmt: str) -> None:
    """G-70, G-73: a missing key is 403 (not 400), in the requested format (ER-03)."""
    r = await write_gw.post("requests", fmt, {"jurisdiction_id": CITY, **streetlight_form()})
    assert "api_key" in errors(r, fmt, 403)


async def test_g70_unknown_api_key_is_403(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.post(
        "requests",
        fmt,
        {"api_key": "o311_abcdefgh_" + "A" * 43, "jurisdiction_id": CITY, **streetlight_form()},
    )
    assert "Invalid api_key" in errors(r, fmt, 403)


async def test_g70_revoked_api_key_is_403(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(fmt, partner=write_gw.revoked, **streetlight_form())
    assert "revoked" in errors(r, fmt, 403)


async def test_g70_key_of_another_jurisdiction_is_403(write_gw: WriteGateway, fmt: str) -> None:
    """G-70: a key authorised in Shelbyville cannot submit to Springfield."""
    r = await write_gw.submit(fmt, partner=write_gw.foreign, **streetlight_form())
    assert CITY in errors(r, fmt, 403)


async def test_g71_api_key_in_query_string_or_bearer_header(write_gw: WriteGateway, fmt: str) -> None:
    """G-71: the key may come in the query string (Swagger) or as `Authorization: Bearer` (Austin)."""
    body = {"jurisdiction_id": CITY, **streetlight_form()}
    r = await write_gw.post("requests", fmt, body, params={"api_key": write_gw.partner.key})
    assert answers(r, fmt)[0]["service_request_id"]
    body = {"jurisdiction_id": CITY, **streetlight_form()}
    r = await write_gw.post(
        "requests", fmt, body, headers={"Authorization": f"Bearer {write_gw.partner.key}"}
    )
    assert answers(r, fmt)[0]["service_request_id"]


async def test_g61_missing_jurisdiction_400_unknown_404(write_gw: WriteGateway, fmt: str) -> None:
    """G-61: multi-jurisdiction mode without a default: missing -> 400, unknown -> 404."""
    body = {"api_key": write_gw.partner.key, **streetlight_form()}
    errors(await write_gw.post("requests", fmt, body), fmt, 400)
    assert "nowhere.example" in errors(
        await write_gw.post("requests", fmt, {**body, "jurisdiction_id": "nowhere.example"}), fmt, 404
    )


# -- service code, location, attributes (PR-02..PR-06) ----------------------------------------------------------


async def test_pr02_missing_service_code_is_400(write_gw: WriteGateway, fmt: str) -> None:
    assert "service_code" in errors(
        await write_gw.submit(fmt, **streetlight_form(service_code=None)), fmt, 400
    )


async def test_pr02_unknown_service_code_is_404(write_gw: WriteGateway, fmt: str) -> None:
    assert "NO_SUCH" in errors(
        await write_gw.submit(fmt, **streetlight_form(service_code="NO_SUCH")), fmt, 404
    )


async def test_pr03_no_location_is_400(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(fmt, **streetlight_form(lat=None, long=None))
    assert "location" in errors(r, fmt, 400)


async def test_pr03_lat_without_long_is_400(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(fmt, **streetlight_form(long=None, address_string="742 Evergreen Terrace"))
    assert "long is required when lat is given" in errors(r, fmt, 400)


async def test_pr05_missing_required_attribute_is_400_naming_it(write_gw: WriteGateway, fmt: str) -> None:
    """PR-05, ER-05: the description names the missing code."""
    r = await write_gw.submit(fmt, **streetlight_form(**{"attribute[LAMP_STATE]": None}))
    assert "attribute[LAMP_STATE] required" in errors(r, fmt, 400)


async def test_pr05_bad_singlevaluelist_key_is_400_naming_it(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(fmt, **streetlight_form(**{"attribute[LAMP_STATE]": "Completely out"}))
    text = errors(r, fmt, 400)
    assert "attribute[LAMP_STATE]" in text and "Completely out" in text


async def test_pr05_number_and_datetime_values_are_validated(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(
        fmt, **streetlight_form(**{"attribute[HEIGHT_M]": "tall", "attribute[NOTICED_AT]": "never"})
    )
    text = errors(r, fmt, 400)
    assert "attribute[HEIGHT_M]" in text and "attribute[NOTICED_AT]" in text


async def test_pr06_description_over_4000_is_400(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(fmt, **streetlight_form(description=unique("x") + "y" * 4000))
    assert "4,000" in errors(r, fmt, 400)


@pytest.mark.parametrize("style", ["brackets", "repeated", "single"])
async def test_pr04_multivaluelist_in_all_three_styles(write_gw: WriteGateway, fmt: str, style: str) -> None:
    """PR-04: `attribute[c][]=a&attribute[c][]=b` (spec), `attribute[c]=a&attribute[c]=b` (FixMyStreet) and a single
    `attribute[c]=a`; the event on the topic holds the keys."""
    base = {"api_key": write_gw.partner.key, "jurisdiction_id": CITY, **streetlight_form()}
    if style == "single":
        pairs, expected = [("attribute[HAZARDS]", "wires")], ["wires"]
    else:
        name = "attribute[HAZARDS][]" if style == "brackets" else "attribute[HAZARDS]"
        pairs, expected = [(name, "wires"), (name, "glass")], ["glass", "wires"]
    r = await write_gw.post("requests", fmt, as_form([*base.items(), *pairs]))
    [answer] = answers(r, fmt)
    payload = await submitted(write_gw, answer["service_request_id"])
    assert payload.attributes["HAZARDS"] == expected
    assert payload.attributes["LAMP_STATE"] == ["out"] and payload.attributes["POLE_ID"] == ["SL-10442"]


async def test_pr01_multipart_form_data_works_and_a_file_is_refused_not_dropped(
    write_gw: WriteGateway, fmt: str
) -> None:
    """PR-01 / §9.6: the same fields as multipart/form-data. A file part (FixMyStreet uploading `photo1`) would be
    lost, as CivicLoop stores no uploads: the POST is refused with a 400 naming media_url, and nothing is created."""
    marker = unique("Multipart lamp")
    fields = as_form(
        [
            ("api_key", write_gw.partner.key),
            ("jurisdiction_id", CITY),
            *streetlight_form(description=marker).items(),
            ("attribute[HAZARDS]", "wires"),
            ("attribute[HAZARDS]", "leaning"),
            ("media_url", "https://photos.example.org/lamp-1.jpg"),
        ]
    )
    files = {"photo1": ("lamp.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")}
    refused = await write_gw.client.post(f"requests.{fmt}", data=fields, files=files)
    assert "photo1" in errors(refused, fmt, 400) and "media_url" in refused.text
    assert await write_gw.row(
        "select count(*) from gateway.submissions where event->'payload'->>'description' = %s", (marker,)
    ) == (0,)
    # A part without a filename is a text field: the body is multipart, with no file.
    r = await write_gw.client.post(f"requests.{fmt}", data=fields, files={"note": (None, b"a text part")})
    assert r.request.headers["content-type"].startswith("multipart/form-data")
    [answer] = answers(r, fmt)
    payload = await submitted(write_gw, answer["service_request_id"])
    assert payload.description == marker
    assert payload.attributes["HAZARDS"] == ["leaning", "wires"]
    assert payload.media_urls == ["https://photos.example.org/lamp-1.jpg"]


# -- answers by service type (PR-09) ----------------------------------------------------------------------------


async def test_pr09_realtime_answer_has_the_number_and_the_event_is_on_the_topic(
    write_gw: WriteGateway, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PR-09, G-31: one request with the CivicLoop number; the event says who sent it (`open311:<client>`) and
    its raw record carries the contact sealed, never in clear (nor do the stored submission and the logs)."""
    caplog.set_level(logging.DEBUG)
    r = await write_gw.submit(fmt, **streetlight_form(**CONTACT))
    [answer] = answers(r, fmt)
    number = answer["service_request_id"]
    assert parse_number(number) == number and re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", number)
    assert answer.get("token") is None
    for value in CLEAR_CONTACT:
        assert value not in r.text
    records = [rec for rec in await write_gw.request_records() if rec.key == number.encode()]
    assert len(records) == 1
    raw = records[0].value.decode()
    for value in CLEAR_CONTACT:
        assert value not in raw, f"{value!r} in clear on the topic"
    [event] = await write_gw.events_of(number)
    assert event.source == "open311:cityapp"
    assert event.actor.kind.value == "partner" and event.actor.id == "cityapp"
    assert event.jurisdiction_id == CITY
    assert event.payload.contact is not None and event.payload.contact.ciphertext
    async with write_gw.pool.connection() as conn:
        cur = await conn.execute(
            "select event::text from gateway.submissions where request_number = %s", (number,)
        )
        (stored,) = await cur.fetchone()
    for value in CLEAR_CONTACT:
        assert value not in stored, f"{value!r} in clear in gateway.submissions"
    assert any("open311 request submitted" in rec.getMessage() for rec in caplog.records)
    logged = "\n".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records)
    for value in CLEAR_CONTACT:
        assert value not in logged, f"{value!r} in the logs"


async def test_pr09_tk01_batch_answer_is_a_token_that_resolves(write_gw: WriteGateway, fmt: str) -> None:
    """PR-09, TK-01: batch -> a token only; once the broker acknowledged, the token resolves to the request."""
    r = await write_gw.submit(
        fmt, service_code=BULKY, address_string="12 Oak St", description=unique("Old sofa")
    )
    [answer] = answers(r, fmt)
    token = answer["token"]
    assert token and answer.get("service_request_id") is None
    async with write_gw.pool.connection() as conn:
        cur = await conn.execute(
            "select jurisdiction_id, service_request_id from gateway.tokens where token = %s", (token,)
        )
        jurisdiction_id, number = await cur.fetchone()
    assert jurisdiction_id == CITY and number
    [event] = await write_gw.events_of(number)
    assert event.payload.service_code == BULKY
    r = await write_gw.client.get(f"tokens/{token}.{fmt}", params={"jurisdiction_id": CITY})
    [resolved] = answers(r, fmt)
    assert resolved["token"] == token and resolved["service_request_id"] == number


async def test_pr09_blackbox_answer_has_neither_id_nor_token(write_gw: WriteGateway, fmt: str) -> None:
    marker = unique("Tags on the wall")
    r = await write_gw.submit(
        fmt, service_code=GRAFFITI, address_string="Underpass, Route 9", description=marker
    )
    [answer] = answers(r, fmt)
    assert answer.get("service_request_id") is None and answer.get("token") is None
    async with write_gw.pool.connection() as conn:
        cur = await conn.execute(
            "select request_number, state from gateway.submissions where service_type = 'blackbox'"
            " and event->'payload'->>'description' = %s",
            (marker,),
        )
        number, state = await cur.fetchone()
    assert state == "published" and len(await write_gw.events_of(number)) == 1


# -- retries (PR-11) --------------------------------------------------------------------------------------------


async def test_pr11_the_same_post_retried_is_one_request(write_gw: WriteGateway, fmt: str) -> None:
    """PR-11: the same partner posting the same body again (in another attribute style) gets the same request."""
    fields = streetlight_form(**CONTACT)
    first = answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"]
    again = answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"]
    assert again == first
    assert len(await write_gw.events_of(first)) == 1
    other = answers(await write_gw.submit(fmt, partner=write_gw.second, **fields), fmt)[0][
        "service_request_id"
    ]
    assert other != first, "another partner's identical body is another request"


async def test_pr11_concurrent_identical_posts_make_one_request(write_gw: WriteGateway, fmt: str) -> None:
    """PR-11: identical POSTs under one Idempotency-Key racing each other: one request, one event, every answer
    the same number."""
    fields = streetlight_form(**{"attribute[HAZARDS][]": "glass"})
    key = {"Idempotency-Key": str(uuid.uuid4())}
    responses = await asyncio.gather(*(write_gw.submit(fmt, headers=key, **fields) for _ in range(6)))
    numbers = {answers(r, fmt)[0]["service_request_id"] for r in responses}
    assert len(numbers) == 1
    (number,) = numbers
    assert len(await write_gw.events_of(number)) == 1
    assert await write_gw.row(
        "select count(*) from gateway.submissions where request_number = %s", (number,)
    ) == (1,)


async def test_pr11_two_residents_identical_anonymous_reports_are_two_requests(
    write_gw: WriteGateway, fmt: str
) -> None:
    """PR-11: the same anonymous form twice through the same partner, without an Idempotency-Key, proves no retry
    (two residents can report the same lamp in the same words): two requests, never one."""
    fields = streetlight_form()
    first = answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"]
    second = answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"]
    assert first != second
    assert len(await write_gw.events_of(first)) == 1 and len(await write_gw.events_of(second)) == 1


async def test_pr11_a_body_naming_its_sender_is_a_retry_only_for_a_short_window(
    write_gw: WriteGateway, fmt: str
) -> None:
    """PR-11: without a key, the same body naming the same sender is a retry within
    CIVICLOOP_SENDER_RETRY_WINDOW (10 minutes), and a new request after it; a different sender is another request."""
    fields = streetlight_form(email="marge@example.org")
    first = answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"]
    assert answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"] == first
    neighbour = answers(await write_gw.submit(fmt, **{**fields, "email": "ned@example.org"}), fmt)[0]
    assert neighbour["service_request_id"] != first
    await write_gw.execute(
        "update gateway.submissions set created_at = now() - interval '11 minutes' where request_number = %s",
        (first,),
    )
    assert answers(await write_gw.submit(fmt, **fields), fmt)[0]["service_request_id"] != first


async def test_pr11_another_civicloop_s_retry_is_recognised_by_its_marker(
    write_gw: WriteGateway, fmt: str
) -> None:
    """PR-11: another CivicLoop's outbound marks the description with its own request number: its retry of an
    anonymous report, without a key, is the same request; another of its reports, in the same words, is another."""
    words = unique("Federated lamp")

    def marked(number: str) -> dict[str, str]:
        return streetlight_form(description=f"{words}\n\n[CivicLoop {number}]")

    one, two = (request_numbers.draw("intake") for _ in range(2))
    first = answers(await write_gw.submit(fmt, **marked(one)), fmt)[0]["service_request_id"]
    assert answers(await write_gw.submit(fmt, **marked(one)), fmt)[0]["service_request_id"] == first
    other = answers(await write_gw.submit(fmt, **marked(two)), fmt)[0]["service_request_id"]
    assert other != first
    assert answers(await write_gw.submit(fmt, **marked(two)), fmt)[0]["service_request_id"] == other


async def test_pr11_the_same_key_with_another_body_is_another_request(
    write_gw: WriteGateway, fmt: str
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = answers(await write_gw.submit(fmt, headers=key, **streetlight_form()), fmt)[0]
    other = answers(await write_gw.submit(fmt, headers=key, **streetlight_form()), fmt)[0]
    assert first["service_request_id"] != other["service_request_id"]


async def test_pr11_an_idempotency_key_that_cannot_be_one_is_400(write_gw: WriteGateway, fmt: str) -> None:
    r = await write_gw.submit(fmt, headers={"Idempotency-Key": "x" * 256}, **streetlight_form())
    assert "Idempotency-Key" in errors(r, fmt, 400)


async def test_pr11_a_pending_submission_is_published_by_the_retry(write_gw: WriteGateway, fmt: str) -> None:
    """PR-11: a submission left pending (its publish timed out, or the process died before recording the
    acknowledgement) is published by the retry: the same number, never a second request, and the event that
    already reached the log is found there, not published a second time."""
    fields = streetlight_form()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    number = answers(await write_gw.submit(fmt, headers=key, **fields), fmt)[0]["service_request_id"]
    await write_gw.leave_pending(number)
    again = answers(await write_gw.submit(fmt, headers=key, **fields), fmt)[0]["service_request_id"]
    assert again == number
    events = await write_gw.events_of(number)
    assert len(events) == 1, "the event stands on the log once"
    assert await write_gw.row(
        "select state from gateway.submissions where request_number = %s", (number,)
    ) == ("published",)


async def test_pr11_after_the_dedup_window_the_same_body_is_a_new_request(
    write_gw: WriteGateway, fmt: str
) -> None:
    """PR-11: deduplication holds for the window (CIVICLOOP_DEDUP_WINDOW, 24 h by default), not forever."""
    fields = streetlight_form()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = answers(await write_gw.submit(fmt, headers=key, **fields), fmt)[0]["service_request_id"]
    await write_gw.execute(
        "update gateway.submissions set created_at = now() - interval '25 hours' where request_number = %s",
        (first,),
    )
    later = answers(await write_gw.submit(fmt, headers=key, **fields), fmt)[0]["service_request_id"]
    assert later != first
    assert len(await write_gw.events_of(later)) == 1


async def test_a_number_a_request_on_the_log_has_is_drawn_again(
    write_gw: WriteGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number made before the producer tags, by intake say, may lie inside the gateway's tag: a request in the
    view (not among the gateway's submissions) holding it makes the submission draw another."""
    taken, fresh = (request_numbers.draw("open311-gateway") for _ in range(2))
    async with write_gw.pool.connection() as conn:
        await conn.execute(
            "insert into gateway.requests (service_request_id, jurisdiction_id, status, civicloop_status,"
            " service_code, description, requested_datetime, updated_datetime, media_urls, source, last_event_id,"
            " h3_resolution) values (%s, %s, 'open', 'submitted', 'other', 'made elsewhere', now(), now(), '{}',"
            " 'web', gen_random_uuid(), 9)",
            (taken, CITY),
        )
    draws = iter([taken, fresh])
    monkeypatch.setattr(request_numbers, "draw", lambda producer, randbits=None: next(draws))
    [answer] = answers(await write_gw.submit("json", **streetlight_form()), "json")
    assert answer["service_request_id"] == fresh
