"""`civicloop-backend-adapters ...`: the configuration file read from disk (JSON and YAML) and the app served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from backend_adapter_configs import CSV_SETTINGS
from civicloop_backend_adapters.entrypoints.cli import app
from civicloop_testing.processes import free_port
from typer.testing import CliRunner


def test_check_reads_yaml_and_json(tmp_path: Path) -> None:
    data = {"jurisdictions": {"parks.example": {**CSV_SETTINGS, "directory": str(tmp_path)}}}
    (tmp_path / "adapters.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "adapters.json").write_text(json.dumps(data))
    for name in ("adapters.yaml", "adapters.json"):
        result = CliRunner().invoke(app, ["check", "--config", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "parks.example: csv_feed (1 service(s))" in result.output
    (tmp_path / "bad.json").write_text(json.dumps({"jurisdictions": {"x": {"type": "csv_feed"}}}))
    assert CliRunner().invoke(app, ["check", "--config", str(tmp_path / "bad.json")]).exit_code != 0


def test_serve_answers_open311(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "x.csv").write_text("Job Ref,Status,Changed At,Notes\nJ-1,Open,01/07/2024 09:30,Logged\n")
    config = tmp_path / "adapters.json"
    config.write_text(
        json.dumps({"jurisdictions": {"parks.example": {**CSV_SETTINGS, "directory": str(drop)}}})
    )
    port = free_port()
    cli = Path(sys.executable).with_name("civicloop-backend-adapters")
    proc = subprocess.Popen(
        [str(cli), "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/open311/v2/servicerequestupdates.json", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the adapter app did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        assert [u["service_request_id"] for u in r.json()] == ["J-1"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_documented_example_configuration_is_valid() -> None:
    from civicloop_backend_adapters.config import AdapterAppConfig

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = AdapterAppConfig.model_validate(yaml.safe_load(block))
    assert {jid: s.type for jid, s in config.jurisdictions.items()} == {
        "roads.example.gov": "rest_workorder",
        "parks.example.gov": "csv_feed",
    }
    roads = config.jurisdictions["roads.example.gov"]
    assert roads.create.fields["location.lat"] == {"from": "lat", "type": "float"}  # type: ignore[union-attr]
