"""`civicloop-selfheal sweep` and `runs` as processes, on the real broker and the test's own database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from civicloop_testing.processes import ROOT, script
from civicloop_testing.run_settings import cli_env
from selfheal_harness import config_folded, folded, publish, running, selfheal_settings
from test_selfheal_sweep import Story, number, sla

pytestmark = pytest.mark.integration


async def cli(settings, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        script("civicloop-selfheal"),
        *args,
        env=cli_env(settings, PATH="/usr/bin:/bin", CIVICLOOP_LOG_LEVEL="WARNING"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


async def test_a_sweep_from_the_command_line_is_recorded_and_listed(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str
) -> None:
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics)
    j = "cli-jurisdiction"
    stuck = number()
    async with running(settings) as service:  # the view, folded by the running service
        await publish(
            settings, [sla(j), *Story(j).submitted(stuck, datetime.now(UTC) - timedelta(hours=3)).events]
        )
        await folded(service, [stuck])
        await config_folded(service, "select count(*) = 1 from selfheal.sla_definitions")
    ran = json.loads(await cli(settings, "sweep"))
    assert (ran["trigger"], ran["outcome"], ran["found"], ran["done"]) == (
        "command",
        "done",
        {"unacknowledged": 1},
        {"escalate": 1, "declare_late": 1},
    )
    listed = await cli(settings, "runs")
    assert "command" in listed and "escalate 1" in listed
