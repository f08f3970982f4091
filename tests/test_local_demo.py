"""`make run`'s demo county: the seed defines its three bodies once, `deploy/local/services.sh` supervises the demo
back-ends beside the providers, and a report of each kind reaches its body (the Sanitation Bureau's mail in the
mailbox, a work order in the work-order system, a job in the job system's CSV export) while what the work-order
system and the job system do about them comes back as status changes, and the crews' own finds are imported.

The run directory, ports and the script's environment are `test_local_providers`'s; the services are outbound's
sender, its poller and the adapter app, as processes of that supervisor on this test's own database and topics.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from civicloop_events import (
    Actor,
    Event,
    Location,
    ServiceDefined,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.payloads import BodyDefined, RequestImported, RoutingRulesDefined
from civicloop_events.request_numbers import new_request_number
from civicloop_events.topics import Topics
from civicloop_testing import KAFKA, create_database, drop_database, make_topics
from civicloop_testing.events import config_event, publish_events, read_all_events, request_event
from civicloop_testing.processes import free_port

from tests.test_local_providers import LocalRun, _local_run, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "deploy" / "local" / "seed_demo.py"
RESIDENT = Actor(kind="resident", id="resident-demo")


def seed_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_demo", SEED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def world(tmp_path: Path, pg_admin_dsn: str) -> Iterator[tuple[LocalRun, Topics, dict[str, str]]]:
    topics = asyncio.run(make_topics(KAFKA))
    dsn = create_database(pg_admin_dsn, prefix="cl_local_demo")
    env = {
        "CIVICLOOP_PG_DSN": dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": KAFKA,
        "CIVICLOOP_TOPIC_PREFIX": topics.prefix,
        "CIVICLOOP_TOPIC_PARTITIONS": str(topics.partitions),
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_LOG_LEVEL": "WARNING",
    }
    try:
        migrated = subprocess.run(
            ["civicloop-outbound", "migrate"], env={**os.environ, **env}, capture_output=True, text=True
        )
        assert migrated.returncode == 0, migrated.stderr
        for run in _local_run(tmp_path, providers=True):
            run.demo = True
            ports = {"outbound": free_port(), "adapters": free_port()}
            (tmp_path / "services.list").write_text(
                f"outbound|{ports['outbound']}|civicloop-outbound run --host 127.0.0.1 --port {ports['outbound']}\n"
                "poller|-|civicloop-outbound open311 run\n"
                f"backend-adapters|{ports['adapters']}|civicloop-backend-adapters serve --host 127.0.0.1"
                f" --port {ports['adapters']}\n"
            )
            run.extra_env = {
                **env,
                "CIVICLOOP_OUTBOUND_POLL_INTERVAL_S": "0.2",
                "CIVICLOOP_OPEN311_TICK_S": "0.5",
                "CIVICLOOP_LOCAL_DEMO_STEP_S": "2",
                "CIVICLOOP_LOCAL_DEMO_OWN_EVERY_S": "4",
                "CIVICLOOP_LOCAL_DEMO_POLL_S": "10",
                "CIVICLOOP_LOCAL_DEMO_ADAPTERS_URL": f"http://127.0.0.1:{ports['adapters']}",
            }
            yield run, topics, env
    finally:
        drop_database(pg_admin_dsn, dsn)


def submitted(service_code: str, attributes: dict[str, list[str]] | None = None) -> Event[Any]:
    return request_event(
        ServiceRequestSubmitted(
            service_code=service_code,
            description=f"Demo {service_code}",
            location=Location(lat=34.0522, long=-118.2437),
            attributes=attributes or {},
        ),
        request_id=new_request_number(),
        actor=RESIDENT,
        source="web",
    )


def test_the_demo_county_reaches_each_body_and_hears_back(
    world: tuple[LocalRun, Topics, dict[str, str]],
) -> None:
    run, topics, env = world
    seed = seed_module()
    catalogue = [
        config_event(ServiceDefined(service_code=code, service_name=name, group=group))
        for code, name, group, *_ in seed.CATALOGUE
    ]
    asyncio.run(publish_events(KAFKA, topics.jurisdiction_config, catalogue))  # as `make seed` does

    started = run.script("start")  # defines the bodies, then starts the demo back-ends and the services
    # What a second `make run`'s start runs again (the whole start twice: test_local_providers): nothing defined twice.
    again = subprocess.run(
        [sys.executable, str(SEED), "bodies", "--workorders-url", "http://127.0.0.1:1"],
        env={**os.environ, **{k: v for k, v in env.items() if k.startswith("CIVICLOOP_")}},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert started.returncode == 0, started.stderr
    assert (
        "defined sanitation, streets, parks, team sanitation, team streets, team parks, team outreach, routing rules"
        in started.stderr
    )
    assert again.returncode == 0 and "already defined, left as they are" in again.stdout, again.stderr
    workorders = f"http://127.0.0.1:{run.ports['workorders']}"
    config = asyncio.run(read_all_events(KAFKA, topics.jurisdiction_config, 1))
    assert sorted(e.payload.body_id for e in config if isinstance(e.payload, BodyDefined)) == [
        "parks",
        "sanitation",
        "streets",
    ]
    assert len([e for e in config if isinstance(e.payload, RoutingRulesDefined)]) == 1

    dumping, pothole, water = (
        submitted("illegal-dumping", {"item_count": ["6+"]}),
        submitted("pothole"),
        submitted("water-waste"),
    )
    asyncio.run(publish_events(KAFKA, topics.request_events, [dumping, pothole, water]))

    # Email: the Sanitation Bureau's mail, in the mailbox (high priority: six or more items, the duty inbox copied).
    def mailed() -> list[bytes]:
        return [f.read_bytes() for f in (run.run_dir / "mail").glob("*.eml")]

    eventually(lambda: any(dumping.request_id.encode() in m for m in mailed()), 60, "the bureau's mail")
    [mail] = [m for m in mailed() if dumping.request_id.encode() in m]
    assert b"sanitation@demo.civicloop.example" in mail and b"HIGH PRIORITY" in mail

    # Open311: a work order in the work-order system's own list; the job system's job in its CSV export.
    def listing() -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{workorders}/orders.json").json()
        return answer

    eventually(
        lambda: any(o["civicloop_number"] == pothole.request_id for o in listing()["work_orders"]),
        60,
        "the work order",
    )
    eventually(
        lambda: any(j["civicloop_number"] == water.request_id for j in listing()["parks_jobs"]), 60, "the job"
    )
    [job] = [j for j in listing()["parks_jobs"] if j["civicloop_number"] == water.request_id]
    export = run.run_dir / "demo" / "parks-exports" / "jobs.csv"
    eventually(lambda: export.exists() and job["ref"] in export.read_text(), 20, "the job in the CSV export")

    # Back: the work order fixed and the job completed become status changes by each body; a crew's find imported.
    def request_events() -> list[Event[Any]]:
        return asyncio.run(read_all_events(KAFKA, topics.request_events, topics.partitions))

    def closed_by(body: str, request_id: str) -> bool:
        return any(
            isinstance(e.payload, StatusChanged)
            and e.request_id == request_id
            and e.payload.status.value == "closed"
            and e.actor.id == f"backend:{body}"
            for e in request_events()
        )

    eventually(lambda: closed_by("streets", pothole.request_id), 90, "the work order's fix heard back")
    eventually(lambda: closed_by("parks", water.request_id), 90, "the job's completion heard from the CSV")
    eventually(
        lambda: any(
            isinstance(e.payload, RequestImported) and e.payload.body_id == "streets"
            for e in request_events()
        ),
        60,
        "a problem the crews found, imported",
    )
    imported = [e for e in request_events() if isinstance(e.payload, RequestImported)]
    assert {e.payload.external_id for e in imported} <= {f"CREW-{k}" for k in range(1, 100)}
    assert all(e.payload.external_id != pothole.request_id for e in imported)  # never what CivicLoop sent

    welcome = run.script("demo").stdout
    assert f"{workorders}/" in welcome and str(export) in welcome
    status = json.loads(
        subprocess.run(
            ["civicloop-outbound", "status", "-j", "demo", "--json"],
            env={**os.environ, **{k: v for k, v in env.items() if k.startswith("CIVICLOOP_")}},
            capture_output=True,
            text=True,
        ).stdout
    )
    assert {b["body_id"]: b["sent"] for b in status} == {"parks": 1, "sanitation": 1, "streets": 1}
