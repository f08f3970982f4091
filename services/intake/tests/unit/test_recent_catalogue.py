import asyncio

from civicloop_intake.adapters import postgres_catalogue
from civicloop_intake.adapters.postgres_catalogue import RecentCatalogue
from civicloop_intake.domain.catalogue import CatalogueEntry
from intake_fakes import FakeCatalogue

POTHOLE = CatalogueEntry("demo", "pothole", "Pothole", active=True)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


class Counted(FakeCatalogue):
    reads = 0

    async def get(self, jurisdiction_id, service_code):
        self.reads += 1
        await asyncio.sleep(0)  # a database read suspends its caller
        return await super().get(jurisdiction_id, service_code)


async def test_an_answer_is_reused_for_keep_s_then_read_again():
    view, clock = Counted(POTHOLE), Clock()
    recent = RecentCatalogue(view, keep_s=1.0, clock=clock)
    assert await recent.get("demo", "pothole") == POTHOLE
    assert await recent.get("demo", "unicorn") is None  # unknown codes are kept too
    view.entries.clear()  # withdrawn on the view
    clock.now += 0.9
    assert await recent.get("demo", "pothole") == POTHOLE and view.reads == 2
    clock.now += 0.2
    assert await recent.get("demo", "pothole") is None and view.reads == 3


async def test_it_keeps_a_bounded_number_of_answers(monkeypatch):
    monkeypatch.setattr(postgres_catalogue, "MAX_KEPT", 3)
    recent = RecentCatalogue(Counted(POTHOLE), keep_s=60, clock=Clock())
    for code in ("a", "b", "c", "d", "e"):
        await recent.get("demo", code)
    assert len(recent._kept) <= 3


async def test_concurrent_calls_share_one_read():
    view = Counted(POTHOLE)
    recent = RecentCatalogue(view, keep_s=1.0, clock=Clock())
    answers = await asyncio.gather(*(recent.get("demo", "pothole") for _ in range(16)))
    assert answers == [POTHOLE] * 16 and view.reads == 1
