"""Property, end to end on the real broker and PostGIS: random residents with names, phones and emails (typed into
their descriptions and addresses, and by agents into public comments and closing notes) go through the whole system:
intake's submission route, agents' commands through intake, geo placing them, public-projections folding them (the
agent view and the public read model), the Open311 gateway folding them. Then none of their strings appears in any
public output: `/public`, `/api/public/weekly.csv`, the Open311 GETs, geo's heat-map, the open-data export.

The services run once for the test, in this process as their real ASGI apps, wired only through Kafka; each
hypothesis example sends new residents through them, so the outputs hold every earlier example's requests too. A
new public output is one entry in `public_outputs` (privacy_outputs.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from civicloop_events import PersonalData, ServiceDefined
from civicloop_events.payloads.staff import StaffCreated, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_gateway.entrypoints.http import create_app as create_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import migrated_intake, migrated_projections, publish_configuration, serving, shared_settings
from hypothesis import HealthCheck, Phase, given, settings
from privacy_outputs import System, leaks, public_outputs, wait_until_public
from privacy_residents import Resident, residents, send_through

pytestmark = pytest.mark.integration

AGENT_ID = uuid.uuid4()


@pytest.fixture
async def system(fresh_database_dsn, fresh_topics, kafka_bootstrap, tmp_path) -> AsyncIterator[System]:
    shared = shared_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    # Every example's cells drawn on /public, nothing served from the pages' cache.
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap).model_copy(
        update={"public_cache_s": 0.0, "public_min_cell_count": 1, "open_data_dir": tmp_path / "open-data"}
    )
    gateway_settings = GatewaySettings(env="test", default_jurisdiction_id="demo", **shared)
    migrate_gateway(gateway_settings.sqlalchemy_url)
    geo_settings = GeoSettings(**shared, cluster_sweep_interval_s=3600)
    migrate_geo(geo_settings.sqlalchemy_url)
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        TeamDefined(team_id="streets", name="Streets"),
        StaffCreated(
            staff_id=AGENT_ID,
            contact=seal(PersonalData(), resident_id=AGENT_ID, key=new_key()),
            roles=["agent"],
            teams=["streets"],
        ),
    )
    verifier = verifier_for_tests()
    async with serving(
        (create_intake(intake_settings, staff_verifier=verifier), "http://intake"),
        (create_geo(geo_settings, staff_verifier=verifier), "http://geo"),
        (create_projections(projection_settings, staff_verifier=verifier), "http://projections"),
        (create_gateway(gateway_settings), "http://gw/open311/v2"),
    ) as (intake, geo, projections, open311):
        yield System(
            intake=intake,
            geo=geo,
            projections=projections,
            open311=open311,
            agent=staff_headers(AGENT_ID),
            pg_dsn=fresh_database_dsn,
        )


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    # The running system is shared by the examples on purpose: starting four services per example would not fit the
    # budget. So no shrinking either: a smaller example on a system holding the earlier ones' requests proves nothing.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate],
)
@given(people=residents())
async def test_no_public_output_shows_a_resident_s_name_phone_email_or_point(
    system: System, people: list[Resident]
) -> None:
    numbers = [await send_through(system, person) for person in people]
    await wait_until_public(system, numbers)
    everyone = system.residents  # the outputs hold every example's requests: each is checked for all of them
    found = []
    for output in public_outputs(numbers):
        text = await output.read(system)
        # The example's requests are there to leak, or the check proves nothing.
        assert all(number in text for number in output.shows), (output.name, output.shows)
        found += leaks(output, text, everyone)
    assert not found, "personal data in public outputs:\n" + "\n".join(str(leak) for leak in found)
