"""What an email carries besides its text (no IO: a photo fetcher that answers from a table)."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_channels.calendar import Organizer
from civicloop_events.payloads import MessageKind
from civicloop_notifier.domain.notices import Notice, VisitFacts
from civicloop_notifier.domain.visit_calendar import CalendarPolicy
from civicloop_notifier.service_layer.email_extras import EmailExtras, Photo

OURS = "https://media.civicloop.example/r/"
POLICY = CalendarPolicy(
    "civicloop.example", Organizer("no-reply@county.example", "County"), timedelta(hours=24)
)


class TablePhotos:
    def __init__(self, photos: dict[str, Photo]) -> None:
        self.photos = photos
        self.asked: list[str] = []

    async def fetch(self, url: str, *, max_bytes: int) -> Photo | None:
        self.asked.append(url)
        photo = self.photos.get(url)
        return photo if photo is not None and len(photo.content) <= max_bytes else None


def extras(photos: TablePhotos) -> EmailExtras:
    return EmailExtras(calendar=POLICY, media_prefixes=(OURS,), photo_max_bytes=100, photos=photos)


async def for_notice(e: EmailExtras, notice: Notice):
    return await e.for_notice(notice, number="1ABC-2DEF", tracking_link="https://t/1ABC-2DEF", translate=str)


@pytest.mark.asyncio
async def test_ours_small_images_are_attached_and_the_rest_linked_without_fetching_others():
    table = TablePhotos(
        {
            OURS + "a.jpg": Photo("image/jpeg", b"a" * 10),
            OURS + "big.png": Photo("image/png", b"b" * 101),
            OURS + "page": Photo("text/html", b"<p>"),
        }
    )
    urls = [OURS + "a.jpg", OURS + "big.png", OURS + "page", "https://elsewhere.example/c.jpg"]
    out = await for_notice(extras(table), Notice(MessageKind.closed, {"photos": urls}))
    assert [(a.filename, a.content_type) for a in out.attachments] == [("photo-1.jpg", "image/jpeg")]
    assert out.lines == tuple(f"Photo: {u}" for u in urls[1:])
    assert "https://elsewhere.example/c.jpg" not in table.asked


@pytest.mark.asyncio
async def test_a_visit_notice_carries_its_calendar_and_others_carry_nothing():
    visit = VisitFacts("v1", datetime(2026, 12, 9, 15, tzinfo=UTC), 60, "1 Main St")
    table = TablePhotos({})
    out = await for_notice(extras(table), Notice(MessageKind.visit_scheduled, visit=visit))
    assert [a.filename for a in out.attachments] == ["visit-1ABC-2DEF.ics"] and out.lines == ()
    nothing = await for_notice(extras(table), Notice(MessageKind.acknowledged))
    assert nothing.attachments == () and nothing.lines == () and table.asked == []
