"""The vault on real PostgreSQL: one key per person, and erasing it erases them from every sealed copy."""

import pytest
import pytest_asyncio
from civicloop_events.personal_data import PersonalData, PersonalDataUnreadable
from civicloop_runtime.migrations import is_current, upgrade
from civicloop_runtime.vault import VAULT_MIGRATIONS, ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def vault(fresh_database_dsn):
    url = "postgresql+psycopg://" + fresh_database_dsn.removeprefix("postgresql://")
    upgrade(url, VAULT_MIGRATIONS, "vault")
    assert is_current(url, VAULT_MIGRATIONS, "vault")
    pool = AsyncConnectionPool(fresh_database_dsn, open=False, kwargs={"autocommit": True})
    await pool.open()
    yield ResidentKeyVault(pool, pepper=b"test-pepper-0123456789")
    await pool.close()


async def test_same_person_same_key_and_erasure_shreds_every_copy(vault):
    first = await vault.seal(PersonalData(name="Ada", phone="+1 (555) 123-4567"))
    second = await vault.seal(PersonalData(email="ADA@example.org ", phone="+15551234567"))
    assert first.resident_id == second.resident_id
    assert await vault.find_resident(email="ada@example.org") == first.resident_id
    assert (await vault.unseal(first)).name == "Ada"

    await vault.erase(first.resident_id)

    for sealed in (first, second):
        with pytest.raises(PersonalDataUnreadable):
            await vault.unseal(sealed)
    assert await vault.find_resident(phone="+15551234567") is None


async def test_different_people_get_different_keys(vault):
    a = await vault.seal(PersonalData(phone="+15550000001"))
    b = await vault.seal(PersonalData(phone="+15550000002"))
    assert a.resident_id != b.resident_id
    assert await vault.key_for(a.resident_id) != await vault.key_for(b.resident_id)


async def test_clear_text_is_not_stored_in_the_vault(vault, fresh_database_dsn):
    await vault.seal(PersonalData(name="Grace Hopper", email="grace@example.org", phone="+15557654321"))
    async with vault.pool.connection() as conn:
        cur = await conn.execute(
            "select coalesce(string_agg(t::text, ''), '') from ("
            " select k::text as t from vault.resident_keys k union all select i::text from vault.resident_index i) x"
        )
        dump = (await cur.fetchone())[0]
    for clear in ("Grace", "grace@example.org", "5557654321"):
        assert clear not in dump
