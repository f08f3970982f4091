"""Public-records exports on the real broker and PostgreSQL: the auditor's export of a request is its replay, event
for event, personal data redacted unless asked; every export is an event on the log before the answer; nobody but an
auditor gets one."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from civicloop_events import CommentAdded
from civicloop_events.history import scanned_history
from civicloop_testing.processes import ROOT, script
from civicloop_testing.run_settings import cli_env
from civicloop_testing.staff_tokens import staff_headers
from intake_harness import Harness

pytestmark = pytest.mark.integration

PHONE, EMAIL, NAME = "+12025550178", "dana.resident@example.org", "Dana Resident"


def records(number: str) -> str:
    return f"/api/v1/staff/requests/{number}/records"


async def filed(intake: Harness) -> str:
    number = await intake.submit(
        f"Deep hole, call me at 202-555-0178 or write {EMAIL}",
        address="1600 Pennsylvania Ave NW, Washington, DC",
        contact={"name": NAME, "phone": PHONE, "email": EMAIL},
    )
    await intake.publish(
        CommentAdded(text="Crew sent; resident asked for updates at dana.resident@example.org"),
        request_id=number,
    )
    return number


async def replay(intake: Harness, number: str) -> list[dict]:
    return await scanned_history(intake.settings.kafka_bootstrap, intake.topics.request_events, number)


async def test_the_redacted_export_is_the_replay_without_personal_data_and_is_itself_on_the_log(
    intake: Harness,
):
    number = await filed(intake)
    auditor = staff_headers(uuid.uuid4(), "auditor")
    before = await replay(intake, number)

    r = await intake.client.get(records(number), params={"reason": "MPIA-2026-0117"}, headers=auditor)

    assert r.status_code == 200, r.text
    export = r.json()
    assert export["redacted"] is True and export["request_number"] == number
    assert [(e["event_id"], e["offset"], e["type"]) for e in export["events"]] == [
        (e["event_id"], e["offset"], e["type"]) for e in before
    ]
    for text in (PHONE, EMAIL, NAME, "202-555-0178"):
        assert text not in r.text
    assert export["events"][0]["payload"]["contact"] == "[redacted]"
    # The resident's own e-mail address never reached the log (intake takes it out of the description); the
    # phone typed there is redacted by the export.
    assert (
        export["events"][0]["payload"]["description"]
        == "Deep hole, call me at [redacted] or write [email removed]"
    )
    after = await replay(intake, number)
    assert after[: len(before)] == before
    recorded = after[len(before) :]
    assert [e["type"] for e in recorded] == ["request.records.exported"]
    assert recorded[0]["payload"] == {
        "export_format": "json",
        "redacted": True,
        "events": len(before),
        "through_offset": before[-1]["offset"],
        "reason": "MPIA-2026-0117",
    }
    assert recorded[0]["actor"]["kind"] == "agent" and recorded[0]["source"] == "auditor"


async def test_an_auditor_who_asks_sees_the_contact_unsealed_and_the_export_says_so(intake: Harness):
    number = await filed(intake)

    r = await intake.client.get(
        records(number), params={"unsealed": "true"}, headers=staff_headers(uuid.uuid4(), "auditor")
    )

    assert r.status_code == 200, r.text
    contact = r.json()["events"][0]["payload"]["contact"]
    assert contact["email"] == EMAIL and contact["phone"] == PHONE and contact["name"] == NAME
    last = (await replay(intake, number))[-1]
    assert last["type"] == "request.records.exported" and last["payload"]["redacted"] is False
    assert EMAIL not in str(last)


async def test_html_and_pdf_are_the_same_history_for_people(intake: Harness):
    number = await filed(intake)
    auditor = staff_headers(uuid.uuid4(), "auditor")
    history = await replay(intake, number)

    html = await intake.client.get(records(number), params={"format": "html"}, headers=auditor)
    pdf = await intake.client.get(records(number), params={"format": "pdf"}, headers=auditor)

    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    for entry in history:
        assert entry["type"] in html.text
    assert EMAIL not in html.text and PHONE not in html.text and "[redacted]" in html.text
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    formats = [e["payload"]["export_format"] for e in (await replay(intake, number))[len(history) :]]
    assert formats == ["html", "pdf"]


@pytest.mark.parametrize("roles", [("agent",), ("supervisor",), ("admin",), ("agent", "supervisor", "admin")])
async def test_nobody_but_an_auditor_gets_an_export_and_a_refusal_puts_nothing_on_the_log(
    intake: Harness, roles
):
    number = await filed(intake)
    history = await replay(intake, number)

    r = await intake.client.get(records(number), headers=staff_headers(uuid.uuid4(), *roles))
    anonymous = await intake.client.get(records(number))

    assert r.status_code == 403
    assert anonymous.status_code == 401
    assert await replay(intake, number) == history


async def test_another_jurisdictions_request_or_none_is_not_found(intake: Harness):
    number = await filed(intake)
    elsewhere = staff_headers(uuid.uuid4(), "auditor", jurisdiction_id="elsewhere")

    assert (await intake.client.get(records(number), headers=elsewhere)).status_code == 404
    missing = await intake.client.get(records("ZZZZ-ZZZZ"), headers=staff_headers(uuid.uuid4(), "auditor"))
    assert missing.status_code == 404


async def test_the_command_line_export_is_the_replay_and_is_recorded_with_the_operator(
    intake: Harness, tmp_path
):
    number = await filed(intake)
    before = await replay(intake, number)
    out = tmp_path / "export.json"

    proc = await asyncio.create_subprocess_exec(
        script("civicloop-intake"),
        *("records", "export", number, "--out", str(out), "--operator", "clerk7", "--reason", "FOIA-12"),
        env=cli_env(intake.settings, PATH="/usr/bin:/bin", CIVICLOOP_LOG_LEVEL="WARNING"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=120)

    assert proc.returncode == 0, err.decode()
    export = json.loads(out.read_text())
    assert [e["event_id"] for e in export["events"]] == [e["event_id"] for e in before]
    assert EMAIL not in out.read_text() and export["redacted"] is True
    recorded = (await replay(intake, number))[len(before) :]
    assert [(e["type"], e["actor"]["id"], e["payload"]["reason"]) for e in recorded] == [
        ("request.records.exported", "records-cli:clerk7", "FOIA-12")
    ]
