"""Partners' API keys over the admin API (the admin pages' partners section), on the real broker, database and
gateway: an admin issues a key (shown once), the partner submits with it, a second key rotates it, the first is
revoked and refused; each key's use is counted (let in, refused, last used); the events carry the admin as actor; other roles and jurisdictions are refused."""

from __future__ import annotations

import uuid

import pytest
from civicloop_events import decode_event
from civicloop_events.payloads import PartnerAuthorised, PartnerKeyRevoked
from civicloop_testing.open311_catalogue import streetlight_form
from civicloop_testing.staff_tokens import staff_headers
from write_harness import CITY, OTHER_CITY, WriteGateway, answers, errors

pytestmark = pytest.mark.integration

PARTNERS = f"admin/jurisdictions/{CITY}/partners"


async def test_an_admin_issues_rotates_and_revokes_a_partners_keys(write_gw: WriteGateway) -> None:
    admin_id = uuid.uuid4()
    admin = staff_headers(admin_id, "admin", jurisdiction_id=CITY)
    client_id = f"app-{uuid.uuid4().hex[:6]}"
    for refused in (
        staff_headers(None, "agent", "supervisor", "auditor", jurisdiction_id=CITY),
        staff_headers(None, "admin", jurisdiction_id=OTHER_CITY),
    ):
        r = await write_gw.client.post(
            f"{PARTNERS}.json", json={"client_id": client_id, "name": "X"}, headers=refused
        )
        assert r.status_code == 403
    assert (await write_gw.client.get(f"{PARTNERS}.json")).status_code == 401

    first = await write_gw.client.post(
        f"{PARTNERS}.json", json={"client_id": client_id, "name": "Neighbour App"}, headers=admin
    )
    assert first.status_code == 201, first.text
    assert first.headers["cache-control"] == "no-store" and first.json()["applied"] is True
    key, key_id = first.json()["key"], first.json()["key_id"]
    r = await write_gw.submit("json", **streetlight_form(api_key=key))
    assert answers(r, "json")[0]["service_request_id"]

    second = await write_gw.client.post(
        f"{PARTNERS}.json", json={"client_id": client_id, "name": "Neighbour App"}, headers=admin
    )
    assert second.status_code == 201 and second.json()["key_id"] != key_id
    revoked = await write_gw.client.post(f"{PARTNERS}/{client_id}/keys/{key_id}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["applied"] is True, revoked.text
    again = await write_gw.client.post(f"{PARTNERS}/{client_id}/keys/{key_id}/revoke", headers=admin)
    assert again.status_code == 400  # revoked already
    unknown = await write_gw.client.post(f"{PARTNERS}/{client_id}/keys/nokey/revoke", headers=admin)
    assert unknown.status_code == 404

    assert "revoked" in errors(await write_gw.submit("json", **streetlight_form(api_key=key)), "json", 403)
    r = await write_gw.submit("json", **streetlight_form(api_key=second.json()["key"]))
    assert answers(r, "json")[0]["service_request_id"]

    listed = await write_gw.client.get(f"{PARTNERS}.json", headers=admin)
    assert listed.status_code == 200
    mine = [k for k in listed.json()["keys"] if k["client_id"] == client_id]
    assert [(k["key_id"], k["revoked_at"] is not None) for k in mine] == [
        (key_id, True),
        (second.json()["key_id"], False),
    ]
    # Each key's use: the first let in once, then refused once revoked; the second let in once.
    assert [(k["requests"], k["refused"]) for k in mine] == [(1, 1), (1, 0)]
    assert all(k["last_used_at"] for k in mine)
    assert mine[0]["last_used_at"] >= mine[0]["authorised_at"]
    assert key not in listed.text and second.json()["key"] not in listed.text

    events = [decode_event(r.value) for r in await write_gw.config_records()]
    changes = [
        e
        for e in events
        if isinstance(e.payload, PartnerAuthorised | PartnerKeyRevoked) and e.payload.client_id == client_id
    ]
    assert [type(e.payload).__name__ for e in changes] == [
        "PartnerAuthorised",
        "PartnerAuthorised",
        "PartnerKeyRevoked",
    ]
    assert {(e.actor.kind, e.actor.id) for e in changes} == {("agent", str(admin_id))}
