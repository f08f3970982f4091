"""The local Kafka and PostgreSQL (`make up`): ports no client can take, and no second server on the same data."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest
from civicloop_runtime.settings import ServiceSettings
from civicloop_testing.faults import KAFKA_SH, ThrowawayKafka
from civicloop_testing.processes import free_port

ROOT = Path(__file__).resolve().parents[1]


def _ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def _first_group(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found"
    return match.group(1)


def _default_ports() -> dict[str, int]:
    """Every default port of the local broker and database, where it is written."""

    def port_in(address: str) -> int:
        return int(_first_group(r"127\.0\.0\.1:(\d+)", address))

    def shell_default(path: Path, variable: str) -> int:
        return int(_first_group(rf"\${{{variable}:-(\d+)}}", path.read_text()))

    fields = ServiceSettings.model_fields
    makefile = (ROOT / "Makefile").read_text()
    return {
        "settings kafka_bootstrap": port_in(str(fields["kafka_bootstrap"].default)),
        "settings pg_dsn": port_in(str(fields["pg_dsn"].default)),
        "Makefile CIVICLOOP_KAFKA_BOOTSTRAP": port_in(_first_group(r"KAFKA_BOOTSTRAP \?= (\S+)", makefile)),
        "Makefile CIVICLOOP_PG_DSN": port_in(_first_group(r"PG_DSN \?= (\S+)", makefile)),
        "kafka.sh listener": shell_default(KAFKA_SH, "CIVICLOOP_KAFKA_PORT"),
        "kafka.sh controller": shell_default(KAFKA_SH, "CIVICLOOP_KAFKA_CONTROLLER_PORT"),
        "postgres.sh": shell_default(ROOT / "deploy" / "local" / "postgres.sh", "CIVICLOOP_PG_PORT"),
    }


def test_the_local_broker_and_database_listen_below_the_ephemeral_range():
    # A port inside the range can be handed to a client as its source port while the server is down; the client
    # then connects to itself and the server cannot bind on restart.
    low, high = _ephemeral_range()
    ports = _default_ports()
    inside = {where: port for where, port in ports.items() if low <= port <= high}
    assert not inside, f"inside the ephemeral range {low}-{high}: {inside}"
    assert (
        len(
            {
                ports["settings kafka_bootstrap"],
                ports["Makefile CIVICLOOP_KAFKA_BOOTSTRAP"],
                ports["kafka.sh listener"],
            }
        )
        == 1
    )
    assert len({ports["settings pg_dsn"], ports["Makefile CIVICLOOP_PG_DSN"], ports["postgres.sh"]}) == 1


@pytest.mark.integration
async def test_kafka_sh_refuses_a_second_broker_on_data_its_broker_serves_on_another_port():
    async with ThrowawayKafka() as kafka:
        env = kafka._env()  # the broker's own run directory and libraries
        env.update(CIVICLOOP_KAFKA_PORT=str(free_port()), CIVICLOOP_KAFKA_CONTROLLER_PORT=str(free_port()))

        second = await asyncio.to_thread(
            subprocess.run,
            ["bash", str(KAFKA_SH), "start"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert second.returncode != 0
        assert f"listens elsewhere (PLAINTEXT://127.0.0.1:{kafka.listen_port}," in second.stderr
        assert "stop it first" in second.stderr
