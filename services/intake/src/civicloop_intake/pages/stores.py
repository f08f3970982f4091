"""What the pages read and keep in intake's database: the jurisdiction's active categories (the catalogue view), and
residents' photos (`intake.photos`, one per submission's Idempotency-Key)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from civicloop_events.payloads import ServiceAttribute
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.pages.photos import CleanPhoto


@dataclass(frozen=True)
class Category:
    service_code: str
    service_name: str
    attributes: tuple[ServiceAttribute, ...]


async def active_categories(pool: AsyncConnectionPool, jurisdiction_id: str) -> list[Category]:
    """The categories a resident may report under, by name."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select service_code, service_name, attributes from intake.services"
            " where jurisdiction_id = %s and active order by service_name, service_code",
            (jurisdiction_id,),
        )
        rows = await cur.fetchall()
    return [
        Category(
            code,
            name,
            tuple(
                sorted(
                    (ServiceAttribute.model_validate(a) for a in attributes if a.get("variable", True)),
                    key=lambda a: (a.order, a.code),
                )
            ),
        )
        for code, name, attributes in rows
    ]


async def keep_photo(pool: AsyncConnectionPool, idempotency_key: str, photo: CleanPhoto) -> UUID:
    """The photo's id: the one already kept under this key (a retried report), else a new one."""
    async with pool.connection() as conn:
        # The no-op update makes `returning` answer the row already there: one statement, whoever wins a race.
        cur = await conn.execute(
            "insert into intake.photos (photo_id, idempotency_key, content, width, height)"
            " values (%s, %s, %s, %s, %s) on conflict (idempotency_key)"
            " do update set idempotency_key = excluded.idempotency_key returning photo_id",
            (uuid4(), idempotency_key, photo.jpeg, photo.width, photo.height),
        )
        row = await cur.fetchone()
    if row is None:
        raise RuntimeError("the photo was not stored")
    photo_id: UUID = row[0]
    return photo_id


async def photo_content(pool: AsyncConnectionPool, photo_id: UUID) -> bytes | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select content from intake.photos where photo_id = %s", (photo_id,))
        row = await cur.fetchone()
    return bytes(row[0]) if row else None
