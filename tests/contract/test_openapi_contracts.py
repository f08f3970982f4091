"""schemathesis against each service's OpenAPI document, with the service running as a real process.

Any 5xx, or any response that does not match the documented schema, fails the test.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid

import pytest
import pytest_asyncio
from civicloop_events import ServiceDefined
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.processes import ServiceProcess, script
from civicloop_testing.staff_tokens import PUBLIC_JWKS, staff_headers

pytestmark = pytest.mark.integration
ALL_ROLES = ("agent", "supervisor", "admin", "auditor")

SERVICES = [
    ("intake", "civicloop-intake"),
    ("public-projections", "civicloop-projections"),
    ("open311-gateway", "civicloop-gateway"),
    ("geo", "civicloop-geo"),
    ("notifier", "civicloop-notifier"),
    ("selfheal", "civicloop-selfheal"),
]


@pytest_asyncio.fixture(loop_scope="session")
async def environment(fresh_database_dsn, fresh_topics, kafka_bootstrap):
    pothole = config_event(ServiceDefined(service_code="pothole", service_name="Pothole"))
    await publish_events(kafka_bootstrap, fresh_topics.jurisdiction_config, [pothole])
    return {
        **os.environ,
        "CIVICLOOP_PG_DSN": fresh_database_dsn,
        "CIVICLOOP_TOPIC_PREFIX": fresh_topics.prefix,
        "CIVICLOOP_TOPIC_PARTITIONS": str(fresh_topics.partitions),
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_LOG_LEVEL": "WARNING",
        "CIVICLOOP_VAULT_PEPPER": uuid.uuid4().hex,
        "CIVICLOOP_READ_YOUR_WRITES_TIMEOUT_S": "0.2",
        "CIVICLOOP_DEFAULT_JURISDICTION_ID": "demo",
        # One client fuzzing as fast as it can: the per-client limit would answer most of it (429s, documented).
        "CIVICLOOP_RATE_LIMIT_PER_CLIENT": "",
        # Staff routes verify tokens with it (no token: 401, documented) rather than refuse every caller with 500.
        "CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS": PUBLIC_JWKS,
    }


@pytest.mark.parametrize(("name", "console_script"), SERVICES, ids=[s[0] for s in SERVICES])
async def test_no_5xx_and_every_response_matches_the_schema(name, console_script, environment):
    service = ServiceProcess(name, console_script, environment, log_prefix="schemathesis")
    service.run_cli("migrate")
    service.start()
    try:
        await service.wait_ready()
        result = await asyncio.to_thread(
            subprocess.run,
            [
                script("schemathesis"),
                "run",
                f"{service.url}/openapi.json",
                "--checks",
                (
                    "not_a_server_error,status_code_conformance,content_type_conformance,"
                    "response_schema_conformance,response_headers_conformance"
                ),
                "--header",  # staff of every role: the staff routes are fuzzed past their guard
                f"Authorization: {staff_headers(None, *ALL_ROLES)['Authorization']}",
                "--max-examples",
                "40",
                "--generation-deterministic",
                "--request-timeout",
                "20",
                "--no-color",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        service.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
