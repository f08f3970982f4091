"""Seed the demo jurisdiction: its service catalogue and service areas (events on `jurisdiction.config`), the bodies
its reports go to and the routing rules (events too), its gazetteer (address points in geo's tables), and demo
requests (through intake's API).

The bodies show each way a county's departments are reached: Sanitation by email (to the local mailbox), Street
Services by Open311 to the demo work-order system (which moves its work orders along and creates problems of its
own, both heard back), Water & Parks by webhook to its job system, heard back through the CSV export the back-end
adapters' CSV feed reads (`civicloop_testing.demo_workorders`). `deploy/local/services.sh start` defines them when
it starts those demo back-ends, before the services (so the first reports are routed to them), and only then.

With `../shared/data/` beside the checkout the areas are the real Los Angeles neighborhood councils, loaded with
`civicloop-geo areas load` like a county would, the gazetteer holds the real addresses of 2017 MyLA311 reports, and
the demo requests are real reports; without it (a user's clone) all three are generated. Seeding is idempotent: a
jurisdiction that already has configuration events on the log is left alone, and a gazetteer load replaces its rows.

    python deploy/local/seed_demo.py config            # catalogue + areas
    python deploy/local/seed_demo.py bodies            # bodies + routing rules, each once (services.sh start, demo on)
    python deploy/local/seed_demo.py gazetteer         # address points for geocoding
    python deploy/local/seed_demo.py requests --intake http://127.0.0.1:8001 --count 40
    python deploy/local/seed_demo.py govdelivery-topics --account DEMO   # the local govDelivery account's topics
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from civicloop_channels.govdelivery import TopicScheme
from civicloop_events import (
    Actor,
    Event,
    ServiceAreaDefined,
    ServiceDefined,
    UnknownEventType,
    decode_event,
    derived_event_id,
)
from civicloop_events.kafka_connection import client_options
from civicloop_events.payloads import (
    AttributeDatatype,
    AttributeValue,
    BodyDefined,
    Open311Connection,
    Priority,
    RoutingRule,
    RoutingRulesDefined,
    SendMethod,
    ServiceAttribute,
    ServiceType,
    TeamDefined,
    WebhookConnection,
)
from civicloop_events.payloads.base import EventPayload
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics, partition_extents

JURISDICTION = "demo"
# The parks webhook's signing secret (CIVICLOOP_SECRET_DEMO_PARKS_WEBHOOK, made by services.sh).
PARKS_WEBHOOK_SECRET_REF = "demo.parks-webhook"  # noqa: S105 - the name of a secret, not one
ROOT = Path(__file__).resolve().parents[2]
app = typer.Typer(add_completion=False, no_args_is_help=True)


def shared_data() -> Path | None:
    for candidate in (os.environ.get("CIVICLOOP_SHARED_DIR"), ROOT.parent / "shared"):
        if candidate and (Path(candidate) / "data").is_dir():
            return Path(candidate) / "data"
    return None


def size_attribute() -> ServiceAttribute:
    return ServiceAttribute(
        code="item_count",
        datatype=AttributeDatatype.singlevaluelist,
        required=True,
        order=1,
        description="How many items are there?",
        values=[
            AttributeValue(key="1", name="One"),
            AttributeValue(key="2-5", name="Two to five"),
            AttributeValue(key="6+", name="Six or more"),
        ],
    )


CATALOGUE = [
    # (code, name, group, keywords, type, attributes) — named after the LA 311 request types of the demo data
    (
        "bulky-items",
        "Bulky Items",
        "Sanitation",
        ["couch", "mattress", "furniture"],
        ServiceType.realtime,
        [size_attribute()],
    ),
    ("graffiti", "Graffiti Removal", "Streets", ["tag", "paint", "vandalism"], ServiceType.realtime, []),
    (
        "illegal-dumping",
        "Illegal Dumping Pickup",
        "Sanitation",
        ["dumping", "trash"],
        ServiceType.realtime,
        [size_attribute()],
    ),
    (
        "appliances",
        "Metal/Household Appliances",
        "Sanitation",
        ["fridge", "washer"],
        ServiceType.realtime,
        [],
    ),
    ("e-waste", "Electronic Waste", "Sanitation", ["tv", "computer"], ServiceType.realtime, []),
    ("encampment", "Homeless Encampment", "Outreach", ["tent", "encampment"], ServiceType.batch, []),
    ("dead-animal", "Dead Animal Removal", "Sanitation", ["animal"], ServiceType.realtime, []),
    (
        "streetlight",
        "Single Streetlight Issue",
        "Streets",
        ["light", "lamp", "dark"],
        ServiceType.realtime,
        [
            ServiceAttribute(
                code="pole_number",
                datatype=AttributeDatatype.string,
                order=1,
                description="The number on the pole, if you can see it",
            )
        ],
    ),
    ("streetlights", "Multiple Streetlight Issue", "Streets", ["lights", "outage"], ServiceType.realtime, []),
    ("pothole", "Pothole", "Streets", ["road", "hole", "asphalt"], ServiceType.realtime, []),
    ("water-waste", "Report Water Waste", "Water", ["sprinkler", "leak"], ServiceType.realtime, []),
    ("other", "Other", "General", [], ServiceType.realtime, []),
]
LA_TYPES = {name: code for code, name, *_ in CATALOGUE}


def generated_areas() -> list[ServiceAreaDefined]:
    """A 3x3 grid of districts over a fictional city centred on (34.05, -118.25)."""
    areas = []
    for i in range(3):
        for j in range(3):
            x0, y0 = -118.40 + j * 0.1, 33.95 + i * 0.1
            ring = [[x0, y0], [x0 + 0.1, y0], [x0 + 0.1, y0 + 0.1], [x0, y0 + 0.1], [x0, y0]]
            n = i * 3 + j + 1
            areas.append(
                ServiceAreaDefined(
                    area_id=f"district-{n}",
                    name=f"District {n}",
                    kind="council_district",
                    geometry={"type": "Polygon", "coordinates": [ring]},
                    source="generated",
                )
            )
    return areas


GENERATED_STREETS = [
    ("N", "MAIN", "ST"),
    ("", "OAK", "AVE"),
    ("W", "1ST", "ST"),
    ("", "ELM", "ST"),
    ("E", "SUNSET", "BLVD"),
    ("", "PINE", "AVE"),
]


def generated_addresses() -> list[tuple[str, float, float]]:
    """Address points along six streets of the generated city: even numbers on one side, odd on the other."""
    points = []
    for k, (predir, name, suffix) in enumerate(GENERATED_STREETS):
        street = " ".join(part for part in (predir, name, suffix) if part)
        north_south = k % 2 == 0
        for n in range(100, 4000, 20):
            along, side = (n - 100) * 2.5e-5, (1 if n % 40 else -1) * 1e-4
            if north_south:
                lat, long = 33.96 + along, -118.38 + k * 0.05 + side
            else:
                lat, long = 33.97 + k * 0.05 + side, -118.39 + along
            points.append((f"{n} {street}", lat, long))
    return points


async def already_seeded(bootstrap: str, topic: str) -> bool:
    return any(end > start for start, end in (await partition_extents(bootstrap, topic)).values())


async def seed_config(bootstrap: str, topics: Topics) -> None:
    if await already_seeded(bootstrap, topics.jurisdiction_config):
        typer.echo("seed: jurisdiction 'demo' already configured on the log, left as it is")
        return
    data = shared_data()
    areas = [] if data else generated_areas()
    services = [
        ServiceDefined(
            service_code=code,
            service_name=name,
            group=group,
            keywords=kw,
            type=kind,
            attributes=attrs,
            description=f"{name} ({group})",
        )
        for code, name, group, kw, kind, attrs in CATALOGUE
    ]
    producer = EventProducer(bootstrap, topics.jurisdiction_config, client_id="civicloop-seed")
    await producer.start()
    try:
        for payload in [*services, *areas]:
            await producer.publish(
                Event.create(
                    payload,
                    request_id=None,
                    jurisdiction_id=JURISDICTION,
                    actor=Actor(kind="system", id="seed"),
                    source="admin",
                )
            )
    finally:
        await producer.stop()
    if (
        data
    ):  # the real boundary file, through the tool a county uses (validation, repair, one event per area)
        await asyncio.to_thread(
            subprocess.run,
            [
                "civicloop-geo",
                "areas",
                "load",
                str(data / "boundaries" / "la-neighborhood-councils-2019.geojson"),
                "--jurisdiction",
                JURISDICTION,
                "--kind",
                "neighborhood_council",
                "--id-property",
                "nc_id",
                "--id-prefix",
                "nc-",
                "--name-property",
                "name",
                "--source",
                "City of Los Angeles, neighborhood councils 2019",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    typer.echo(
        f"seed: {len(services)} services and "
        f"{'the real LA neighborhood councils' if data else f'{len(areas)} generated districts'} "
        f"for jurisdiction '{JURISDICTION}'"
    )


# Where the demo back-ends listen by default (deploy/local/services.sh passes where it starts them).
WORKORDERS_URL = "http://127.0.0.1:24084"
ADAPTERS_URL = "http://127.0.0.1:8010"
# Our categories -> the work-order system's own codes (civicloop_testing.demo_workorders.WORK_ORDER_SERVICES).
STREETS_CODES = {
    "pothole": "RD-POT",
    "graffiti": "GR-REM",
    "streetlight": "LT-OUT",
    "streetlights": "LT-MULTI",
}
SANITATION_CODES = ["bulky-items", "illegal-dumping", "appliances", "e-waste", "dead-animal", "other"]
PARKS_CODES = ["water-waste", "encampment"]


def demo_bodies(workorders_url: str, adapters_url: str, poll_interval_s: int = 30) -> list[BodyDefined]:
    """The three departments of the demo county, one per way of reaching a department (docs/outbound.md)."""
    return [
        BodyDefined(
            body_id="sanitation",
            name="Sanitation Bureau",
            send_method=SendMethod.email,
            service_codes=SANITATION_CODES,
            email="sanitation@demo.civicloop.example",
            priority_email="sanitation-duty@demo.civicloop.example",
        ),
        BodyDefined(
            body_id="streets",
            name="Street Services",
            send_method=SendMethod.open311,
            service_codes=list(STREETS_CODES),
            open311=Open311Connection(
                endpoint=f"{workorders_url}/open311/v2",
                format="json",
                id_field="civicloop_number",
                service_code_map=STREETS_CODES,
                updates_method="servicerequestupdates",
                poll_interval_s=poll_interval_s,
                import_requests=True,
                paging="none",
            ),
        ),
        BodyDefined(
            body_id="parks",
            name="Water & Parks",
            send_method=SendMethod.webhook,
            service_codes=PARKS_CODES,
            webhook=WebhookConnection(
                url=f"{workorders_url}/parks/jobs", secret_ref=PARKS_WEBHOOK_SECRET_REF
            ),
            # Their job system only exports a CSV of its changes: heard back through the adapters' CSV feed.
            open311=Open311Connection(
                endpoint=f"{adapters_url}/open311/v2",
                jurisdiction_id="parks-jobs",
                format="json",
                updates_method="servicerequestupdates",
                poll_interval_s=poll_interval_s,
            ),
        ),
    ]


# The crews the demo's routing and agents name: the bodies' own, and the outreach team the encampment rule gives.
DEMO_TEAMS = [
    TeamDefined(team_id="sanitation", name="Sanitation crews"),
    TeamDefined(team_id="streets", name="Street Services crews"),
    TeamDefined(team_id="parks", name="Water & Parks crews"),
    TeamDefined(team_id="outreach", name="Homeless outreach"),
]

DEMO_RULES = RoutingRulesDefined(
    rules=[
        RoutingRule(
            name="Six or more dumped items: high priority (the duty inbox is copied)",
            service_codes=["illegal-dumping", "bulky-items"],
            attribute_equals={"item_count": "6+"},
            priority=Priority.high,
        ),
        RoutingRule(
            name="Encampments are for the outreach team",
            service_codes=["encampment"],
            body_id="parks",
            team="outreach",
            analysis_codes=["outreach"],
        ),
    ]
)


async def config_on_the_log(bootstrap: str, topic: str) -> list[Event]:
    """Every event on the configuration topic now (a demo's is small), decoded; records of other kinds skipped."""
    extents = await partition_extents(bootstrap, topic)
    wanted = {p: end for p, (start, end) in extents.items() if end > start}
    if not wanted:
        return []
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Event] = []
    try:
        partitions = [TopicPartition(topic, p) for p in wanted]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while [tp for tp in partitions if await consumer.position(tp) < wanted[tp.partition]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    try:
                        out.append(decode_event(record.value))
                    except (UnknownEventType, ValueError):  # a kind this seed does not read: not a body
                        continue
    finally:
        await consumer.stop()
    return out


def bodies_to_define(seen: list[Event], bodies: list[BodyDefined]) -> tuple[list[EventPayload], list[str]]:
    """What of the demo's bodies, teams and rules the log lacks (pure): a body, a team or the rules already defined
    for the jurisdiction, by the seed or by an administrator since, are left as they are. Also the body ids already
    there."""
    ours = [e for e in seen if e.jurisdiction_id == JURISDICTION]
    defined = {e.payload.body_id for e in ours if isinstance(e.payload, BodyDefined)}
    teams = {e.payload.team_id for e in ours if isinstance(e.payload, TeamDefined)}
    missing: list[EventPayload] = [b for b in bodies if b.body_id not in defined]
    missing += [t for t in DEMO_TEAMS if t.team_id not in teams]
    if not any(isinstance(e.payload, RoutingRulesDefined) for e in ours):
        missing.append(DEMO_RULES)
    return missing, sorted(defined)


def seed_event(payload: EventPayload) -> Event:
    """A seed's event, its id derived from what it defines: two seeds racing publish the same event."""
    key = getattr(payload, "body_id", None) or getattr(payload, "team_id", None) or "rules"
    return Event.create(
        payload,
        request_id=None,
        jurisdiction_id=JURISDICTION,
        actor=Actor(kind="system", id="seed"),
        source="admin",
        event_id=derived_event_id("demo-seed", JURISDICTION, payload.event_type, key),
    )


async def seed_bodies(
    bootstrap: str, topics: Topics, workorders_url: str, adapters_url: str, poll_interval_s: int
) -> None:
    seen = await config_on_the_log(bootstrap, topics.jurisdiction_config)
    missing, there = bodies_to_define(seen, demo_bodies(workorders_url, adapters_url, poll_interval_s))
    if not missing:
        typer.echo(f"seed: bodies {', '.join(there)} and the routing rules already defined, left as they are")
        return
    producer = EventProducer(bootstrap, topics.jurisdiction_config, client_id="civicloop-seed")
    await producer.start()
    try:
        for payload in missing:
            await producer.publish(seed_event(payload))
    finally:
        await producer.stop()
    named = [label_of(p) for p in missing]
    typer.echo(f"seed: defined {', '.join(named)} for jurisdiction '{JURISDICTION}'")


def label_of(payload: EventPayload) -> str:
    if isinstance(payload, TeamDefined):
        return f"team {payload.team_id}"
    return getattr(payload, "body_id", "routing rules")


def demo_reports(count: int) -> list[dict]:
    data = shared_data()
    rng = random.Random(311)  # noqa: S311 - a fixed seed, so every demo holds the same reports; nothing secret
    if data:
        with (data / "requests" / "la-311-2017-sample.csv").open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["Latitude"] and r["RequestType"] in LA_TYPES]
        picked = rng.sample(rows, min(count, len(rows)))
        return [
            {
                "service_code": LA_TYPES[r["RequestType"]],
                "lat": float(r["Latitude"]),
                "long": float(r["Longitude"]),
                "address_string": r["Address"].strip() or None,
                "source": "web",
                "description": f"{r['RequestType']} (a real 2017 MyLA311 report, replayed for the demo)",
            }
            for r in picked
        ]
    return [
        {
            "service_code": rng.choice(CATALOGUE)[0],
            "lat": 33.95 + rng.random() * 0.3,
            "long": -118.40 + rng.random() * 0.3,
            "description": "Generated demo report",
            "source": "web",
        }
        for _ in range(count)
    ]


@app.command()
def config() -> None:
    """Publish the demo jurisdiction's catalogue and service areas (once)."""
    asyncio.run(
        seed_config(os.environ.get("CIVICLOOP_KAFKA_BOOTSTRAP", "127.0.0.1:21092"), Topics.from_env())
    )


@app.command()
def bodies(
    workorders_url: str = WORKORDERS_URL, adapters_url: str = ADAPTERS_URL, poll_interval_s: int = 30
) -> None:
    """Define the demo's bodies (email, Open311, webhook + CSV feed) and routing rules, each once."""
    bootstrap = os.environ.get("CIVICLOOP_KAFKA_BOOTSTRAP", "127.0.0.1:21092")
    asyncio.run(seed_bodies(bootstrap, Topics.from_env(), workorders_url, adapters_url, poll_interval_s))


@app.command()
def gazetteer() -> None:
    """Load the demo gazetteer: real LA address points when ../shared/data is there, generated streets otherwise."""
    data = shared_data()
    if data:
        subprocess.run(
            [
                "civicloop-geo",
                "gazetteer",
                "load-addresses",
                str(data / "requests" / "la-311-2017-sample.csv"),
                "--jurisdiction",
                JURISDICTION,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        typer.echo("seed: gazetteer holds the addresses of the 2017 LA sample")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated-addresses.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Address", "Latitude", "Longitude"])
            writer.writerows(generated_addresses())
        subprocess.run(
            ["civicloop-geo", "gazetteer", "load-addresses", str(path), "--jurisdiction", JURISDICTION],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    typer.echo(f"seed: gazetteer holds {len(generated_addresses())} generated addresses")


@app.command()
def requests(intake: str = "http://127.0.0.1:8001", count: int = 40) -> None:
    """Submit demo reports through intake's public API (the real path: validation, sealing, the log)."""
    created = earlier = 0
    with httpx.Client(base_url=intake, timeout=30) as client:
        for i, report in enumerate(demo_reports(count)):
            # Intake learns the catalogue from the log; right after the seed it may not know a code yet (422).
            for _ in range(150):
                r = client.post(
                    "/api/v1/requests", json=report, headers={"Idempotency-Key": f"demo-seed-{i}"}
                )
                if r.status_code != 422 or "unknown_service_code" not in r.text:
                    break
                time.sleep(0.2)
            if r.status_code == 409 and "idempotency_key_reused" in r.text:
                # An earlier seed of this database submitted this demo report under its key (with a body hashed
                # under another run directory's pepper): it is there already.
                earlier += 1
                continue
            if r.status_code not in (200, 201):
                raise SystemExit(f"seed: intake refused a demo report: {r.status_code} {r.text}")
            created += 1
    typer.echo(f"seed: {created} demo requests submitted through intake ({earlier} were there already)")


@app.command("govdelivery-topics")
def govdelivery_topics(account: str = "DEMO") -> None:
    """The topic codes the local govDelivery account is made with, one a line: each category of the demo catalogue
    and each generated district, as the county would have created them (TopicScheme)."""
    scheme = TopicScheme(account)
    for code, *_ in CATALOGUE:
        typer.echo(scheme.for_category(code))
    for area in generated_areas():
        typer.echo(scheme.for_district(area.area_id))


if __name__ == "__main__":
    app()
