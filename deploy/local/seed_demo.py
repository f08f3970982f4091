"""Seed the demo jurisdiction: its service catalogue and service areas (events on `jurisdiction.config`), its
gazetteer (address points in geo's tables), and demo requests (through intake's API).

With `../shared/data/` beside the checkout the areas are the real Los Angeles neighborhood councils, loaded with
`civicloop-geo areas load` like a county would, the gazetteer holds the real addresses of 2017 MyLA311 reports, and
the demo requests are real reports; without it (a user's clone) all three are generated. Seeding is idempotent: a
jurisdiction that already has configuration events on the log is left alone, and a gazetteer load replaces its rows.

    python deploy/local/seed_demo.py config            # catalogue + areas
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
from civicloop_channels.govdelivery import TopicScheme
from civicloop_events import Actor, Event, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute, ServiceType
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics, partition_extents

JURISDICTION = "demo"
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
