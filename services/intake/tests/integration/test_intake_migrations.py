import pytest
from civicloop_intake import database
from civicloop_intake.entrypoints.cli import app
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def test_migrate_brings_vault_and_intake_to_head_and_is_idempotent(fresh_database_dsn, monkeypatch):
    url = "postgresql+psycopg://" + fresh_database_dsn.removeprefix("postgresql://")
    assert not database.is_current(url)
    monkeypatch.setenv("CIVICLOOP_PG_DSN", fresh_database_dsn)
    monkeypatch.delenv("CIVICLOOP_VAULT_PEPPER", raising=False)  # migrating needs no secret
    for _ in range(2):
        result = CliRunner().invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output
    assert "schema vault: at head" in result.output and "schema intake: at head" in result.output
    assert database.is_current(url)
