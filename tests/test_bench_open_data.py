"""The open-data bench phase's loader and ceiling against the projections' migrations: the SQL that fills the public
read model fits its columns, the ceiling's COPY reads every row, and an export of those rows writes them all (a
schema change that breaks one fails here, not in the middle of `make bench`)."""

from __future__ import annotations

import psycopg
import pytest
from civicloop_projections.adapters import open_data_export
from civicloop_projections.database import migrate
from civicloop_runtime.settings import ServiceSettings

from bench import open_data as open_data_bench


@pytest.mark.integration
def test_the_open_data_loader_and_ceiling_fit_the_public_read_model(
    fresh_database_dsn: str, tmp_path
) -> None:
    migrate(ServiceSettings(pg_dsn=fresh_database_dsn).sqlalchemy_url)
    open_data_bench.fill(fresh_database_dsn, 120)
    rows, _seconds = open_data_bench.copy_ceiling(fresh_database_dsn)
    assert rows == 120
    with psycopg.connect(fresh_database_dsn, autocommit=True) as conn:
        closed = conn.execute(
            "select count(*) from projections.public_requests where status = 'closed' and closed_at is not null"
        ).fetchone()
        result = open_data_export.export(conn, tmp_path, batch_rows=50)
    assert closed is not None and closed[0] == 60, "half the rows closed, with a time"
    assert result.rows == 120
    csv_lines = (tmp_path / "latest" / "requests.csv").read_text().splitlines()
    assert len(csv_lines) == 121 and sum(",Bulky Items," in line for line in csv_lines) == 20
