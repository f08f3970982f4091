import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from civicloop_intake import database
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing import create_database, drop_database
from psycopg_pool import AsyncConnectionPool

# The integration harness (an intake per test on the real broker and database) and the console's world (its
# sign-in, public-projections' agent view) live beside these tests.
sys.path.insert(0, str(Path(__file__).parent.parent / "integration"))
sys.path.insert(0, str(Path(__file__).parent.parent / "console"))

from intake_harness import intake, producer  # noqa: F401 - fixtures for this directory


@pytest.fixture(scope="session")
def migrated_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database of the admin pages' own: they define categories and bring reports from posters in the
    jurisdiction, which the other intake tests (sharing the run's database) count and list."""
    dsn = create_database(pg_admin_dsn)
    database.migrate(IntakeSettings(env=Environment.test, pg_dsn=dsn).sqlalchemy_url)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest_asyncio.fixture(loop_scope="session")
async def pool(migrated_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    p = AsyncConnectionPool(migrated_dsn, min_size=1, max_size=8, open=False, kwargs={"autocommit": True})
    await p.open(wait=True)
    yield p
    await p.close()
