"""SLA definitions on the real broker and PostgreSQL: an admin replaces the jurisdiction's definition through the API
(an event on `jurisdiction.config` with the admin as actor), what the checks refuse is a 422 and publishes nothing,
the definition in force is read back once folded, and the same definition again publishes nothing; the operator's
CLI defines and shows one too (its actor names the operator), and `staff seed-demo` seeds the demo jurisdiction's."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from civicloop_events import ServiceDefined, decode_event
from civicloop_intake.adapters.postgres_catalogue import CATALOGUE_CONSUMER
from civicloop_testing import read_all_records
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import request_event
from civicloop_testing.polling import eventually
from civicloop_testing.processes import ROOT, script
from civicloop_testing.run_settings import cli_env
from civicloop_testing.staff_tokens import staff_headers
from intake_harness import AGENT, Harness

pytestmark = pytest.mark.integration

SLA = "/api/v1/staff/sla"


def definition(time_zone: str = "America/Chicago", **targets: Any) -> dict[str, Any]:
    return {
        "time_zone": time_zone,
        "opening_hours": [
            {"day": day, "opens": "08:00", "closes": "17:00"}
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        ],
        "holidays": [{"date": "2026-12-25", "name": "Christmas Day"}],
        "categories": [
            {"service_code": code, "acknowledge_within_minutes": ack, "resolve_within_minutes": ack * 5}
            for code, ack in (targets or {"pothole": 480}).items()
        ],
        "default": {"acknowledge_within_minutes": 960},
    }


async def jurisdiction_with_catalogue(intake: Harness) -> str:
    """A jurisdiction of this test alone (the definitions' table is the run's), its catalogue folded: an active
    `pothole` and a withdrawn `graffiti`."""
    jurisdiction = "sla-" + uuid.uuid4().hex[:10]
    positions = []
    for service in (
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        ServiceDefined(service_code="graffiti", service_name="Graffiti", active=False),
    ):
        event = request_event(
            service, request_id=None, actor=AGENT, source="admin", jurisdiction_id=jurisdiction
        )
        positions.append(await intake.producer.publish(event, topic=intake.topics.jurisdiction_config))
    consumer = intake.topics.prefix + CATALOGUE_CONSUMER
    await assert_applied(intake.pool, schema="intake", consumer=consumer, positions=positions)
    return jurisdiction


async def sla_events(intake: Harness, jurisdiction: str) -> list[Any]:
    records = await read_all_records(intake.settings.kafka_bootstrap, intake.topics.jurisdiction_config, 1)
    events = (decode_event(r.value) for r in records)
    return [e for e in events if e.type == "jurisdiction.sla.defined" and e.jurisdiction_id == jurisdiction]


async def test_an_admin_defines_the_sla_and_reads_back_the_one_in_force(intake):
    jurisdiction = await jurisdiction_with_catalogue(intake)
    admin_id = uuid.uuid4()
    admin = staff_headers(admin_id, "admin", jurisdiction_id=jurisdiction)
    assert (await intake.client.get(SLA, headers=admin)).status_code == 404

    for body, error in [
        (definition(time_zone="America/Springfield"), "unknown_time_zone"),
        (definition(pothole=480, zeppelin=60), "unknown_category"),
    ]:
        r = await intake.client.put(SLA, json=body, headers=admin)
        assert (r.status_code, r.json()["error"]) == (422, error), r.text
    overlapping = definition()
    overlapping["opening_hours"].append({"day": "monday", "opens": "12:00", "closes": "13:00"})
    assert (await intake.client.put(SLA, json=overlapping, headers=admin)).status_code == 422
    agent = staff_headers(uuid.uuid4(), "agent", jurisdiction_id=jurisdiction)
    assert (await intake.client.put(SLA, json=definition(), headers=agent)).status_code == 403
    assert await sla_events(intake, jurisdiction) == []

    # A withdrawn category is still the jurisdiction's: its open requests count against a target.
    body = definition(pothole=480, graffiti=240)
    r = await intake.client.put(SLA, json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True
    [event] = await sla_events(intake, jurisdiction)
    assert str(event.event_id) == r.json()["event_id"]
    assert (event.actor.kind.value, event.actor.id, event.source) == ("agent", str(admin_id), "staff-api")
    assert event.payload.time_zone == "America/Chicago"
    assert [c.service_code for c in event.payload.categories] == ["pothole", "graffiti"]

    async def in_force() -> dict[str, Any] | None:
        answer = await intake.client.get(
            SLA, headers=staff_headers(uuid.uuid4(), "auditor", jurisdiction_id=jurisdiction)
        )
        return answer.json() if answer.status_code == 200 else None

    read = await eventually(in_force, what="the definition folded")
    assert read["event_id"] == str(event.event_id) and read["defined_by"] == f"agent:{admin_id}"
    assert read["definition"] == event.payload.model_dump(mode="json")

    again = await intake.client.put(SLA, json=body, headers=admin)
    assert again.json() == {"changed": False, "event_id": None}
    assert len(await sla_events(intake, jurisdiction)) == 1

    # Another jurisdiction's admin neither reads nor changes this one.
    elsewhere = staff_headers(uuid.uuid4(), "admin", jurisdiction_id=jurisdiction + "-x")
    assert (await intake.client.get(SLA, headers=elsewhere)).status_code == 404


async def intake_cli(intake: Harness, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        script("civicloop-intake"),
        *args,
        env=cli_env(intake.settings, PATH="/usr/bin:/bin", CIVICLOOP_LOG_LEVEL="WARNING"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


async def test_the_operator_defines_and_shows_the_sla_from_the_host(intake, tmp_path: Path):
    jurisdiction = await jurisdiction_with_catalogue(intake)
    file = tmp_path / "sla.json"
    file.write_text(json.dumps(definition(pothole=120)))

    code, out = await intake_cli(
        intake, "sla", "define", "--file", str(file), "--jurisdiction", jurisdiction, "--operator", "alice"
    )
    assert code == 0, out
    [event] = await sla_events(intake, jurisdiction)
    assert out.strip().splitlines()[-1] == str(event.event_id)
    assert (event.actor.kind.value, event.actor.id, event.source) == ("system", "staff-cli:alice", "admin")

    async def shown() -> dict[str, Any] | None:
        code, out = await intake_cli(intake, "sla", "show", "--jurisdiction", jurisdiction)
        return json.loads(out) if code == 0 else None

    read = await eventually(shown, what="`sla show` finds the definition", timeout=90)
    assert read["event_id"] == str(event.event_id) and read["defined_by"] == "system:staff-cli:alice"
    assert read["definition"]["categories"][0]["acknowledge_within_minutes"] == 120

    file.write_text(json.dumps(definition(time_zone="Nowhere/Atlantis")))
    code, out = await intake_cli(intake, "sla", "define", "--file", str(file), "--jurisdiction", jurisdiction)
    assert code == 2 and "unknown_time_zone" in out
    assert len(await sla_events(intake, jurisdiction)) == 1
