"""`export` on the real broker and PostgreSQL leaves the vault and the tables of secrets out, and says so."""

from __future__ import annotations

import json

import psycopg
import pytest
from civicloop_runtime.exit_archive import MANIFEST, export, verify

pytestmark = pytest.mark.integration


async def test_the_vault_and_secrets_stay_out_of_an_archive(
    fresh_database_dsn, fresh_topics, kafka_bootstrap, tmp_path
):
    async with await psycopg.AsyncConnection.connect(fresh_database_dsn, autocommit=True) as conn:
        for ddl in (
            "create schema intake",
            "create table intake.staff_accounts (staff_id text primary key, roles text[])",
            "insert into intake.staff_accounts values ('s-1', '{agent}')",
            "create table intake.staff_credentials (staff_id text primary key, password_hash text, totp_secret text)",
            "insert into intake.staff_credentials values ('s-1', 'argon2-hash', 'TOTPSECRET')",
            "create schema vault",
            "create table vault.resident_keys (resident_id text primary key, key bytea)",
            "insert into vault.resident_keys values ('r-1', 'KEYBYTES')",
        ):
            await conn.execute(ddl)

    archive = tmp_path / "archive"
    exported = await export(archive, bootstrap=kafka_bootstrap, topics=fresh_topics, dsn=fresh_database_dsn)

    assert exported.records == 0 and exported.rows == 1
    assert (archive / "read-models" / "intake" / "staff_accounts.csv").read_text().splitlines() == [
        "staff_id,roles",
        "s-1,{agent}",
    ]
    assert not (archive / "read-models" / "vault").exists()
    everything = b"".join(p.read_bytes() for p in archive.rglob("*") if p.is_file())
    assert (
        b"TOTPSECRET" not in everything and b"argon2-hash" not in everything and b"KEYBYTES" not in everything
    )
    manifest = verify(archive)
    assert manifest == json.loads((archive / MANIFEST).read_text())
    assert "intake.staff_credentials" in manifest["left_out"]["tables"] and manifest["left_out"][
        "schemas"
    ] == ["vault"]
    assert set(manifest["topics"]) == {"requests.events", "requests.events.dlq", "jurisdiction.config"}
