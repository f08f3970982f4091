"""What an email carries besides its text: a visit's `.ics`, a closing's photos (attached when CivicLoop serves them
and they are small, else linked in the text)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from civicloop_channels.message import Attachment

from civicloop_notifier.domain.notices import Notice
from civicloop_notifier.domain.photos import PHOTO_LINK, photo_filename, served_by_us
from civicloop_notifier.domain.visit_calendar import CalendarPolicy, visit_calendar
from civicloop_notifier.service_layer.notice_facts import PHOTOS


@dataclass(frozen=True)
class Photo:
    content_type: str
    content: bytes


class PhotoFetcher(Protocol):
    async def fetch(self, url: str, *, max_bytes: int) -> Photo | None:
        """The image at `url`, or None when it cannot be had within `max_bytes` (then it is linked)."""
        ...


@dataclass(frozen=True)
class Extras:
    attachments: tuple[Attachment, ...] = ()
    lines: tuple[str, ...] = ()  # added to the text (links to photos not attached)


@dataclass(frozen=True)
class EmailExtras:
    calendar: CalendarPolicy
    media_prefixes: Sequence[str] = ()
    photo_max_bytes: int = 0
    photos: PhotoFetcher | None = None

    async def for_notice(
        self, notice: Notice, *, number: str, tracking_link: str, translate: Callable[[str], str]
    ) -> Extras:
        attachments: list[Attachment] = []
        lines: list[str] = []
        if notice.visit is not None:
            attachments.append(
                visit_calendar(
                    notice.visit,
                    number=number,
                    tracking_link=tracking_link,
                    translate=translate,
                    policy=self.calendar,
                )
            )
        for position, url in enumerate(notice.params.get(PHOTOS, ()), start=1):
            attached = await self._attach(url, position=position)
            if attached is not None:
                attachments.append(attached)
            else:
                lines.append(translate(PHOTO_LINK) % {"link": url})
        return Extras(tuple(attachments), tuple(lines))

    async def _attach(self, url: str, *, position: int) -> Attachment | None:
        if self.photos is None or self.photo_max_bytes <= 0 or not served_by_us(url, self.media_prefixes):
            return None
        photo = await self.photos.fetch(url, max_bytes=self.photo_max_bytes)
        if photo is None:
            return None
        name = photo_filename(position, photo.content_type)
        return Attachment(name, photo.content_type, photo.content) if name else None
