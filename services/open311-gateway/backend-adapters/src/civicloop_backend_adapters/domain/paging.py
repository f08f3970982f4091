"""Pure rules for reading lists without silent loss, both ways through the adapter:

* what the Open311 front answers: `page`/`page_size` honoured over a stable order, so a reader can walk a window
  larger than one answer (`page_of`);
* how a back-end's list is walked: when a page ends the walk, when the back-end ignored the page number (the same
  page again), and when an answer was cut (as long as the back-end's cap, or `max_pages` reached), which the adapter
  then splits into smaller windows or reports instead of answering part of a window as if it were all (`PageWalk`,
  `halves`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

Row = TypeVar("Row")


class BadPaging(ValueError):
    """`page` or `page_size` that is not a positive whole number (an Open311 400)."""


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int
    asked: bool  # whether the reader asked for a page at all


def page_request(page: str | None, page_size: str | None, most: int) -> PageRequest:
    """The page a reader asked for: `page` from 1, `page_size` up to `most` (larger sizes are served as `most`)."""

    def whole(text: str | None, name: str, default: int) -> int:
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadPaging(f"{name} must be a whole number, not {text!r}.") from None
        if value < 1:
            raise BadPaging(f"{name} must be 1 or more.")
        return value

    return PageRequest(
        page=whole(page, "page", 1),
        page_size=min(whole(page_size, "page_size", most), most),
        asked=page is not None or page_size is not None,
    )


def page_of(rows: Sequence[Row], request: PageRequest) -> list[Row]:
    """The rows of one page of `rows` (already in their stable order); past the end: none."""
    first = (request.page - 1) * request.page_size
    return list(rows[first : first + request.page_size])


Step = Literal["next", "done", "cut"]
PagingMode = Literal["page", "cursor", "none"]


@dataclass
class PageWalk:
    """Walks a back-end's list page by page and says, after each page, whether to ask the next one, stop (every item
    read) or give up on the window as cut (`cut_reason` says why).

    `mode` is how the back-end pages: `page` (page numbers), `cursor` (a next cursor in each answer) or `none`.
    `answer_cap` is the most items the back-end returns in one answer (None: unknown): an answer that long may
    have been cut. With page numbers, a page shorter than the length a full page has (`page_size`, or the cap when
    it is lower) ends the walk; the same page twice means the back-end ignores the page number.
    """

    mode: PagingMode
    page_size: int
    answer_cap: int | None
    max_pages: int
    pages: int = 0
    cut_reason: str | None = None
    _previous: tuple[str, ...] | None = field(default=None, repr=False)
    _cursors: set[str] = field(default_factory=set, repr=False)

    def _capped(self, count: int) -> bool:
        return self.answer_cap is not None and count >= self.answer_cap

    def _cut(self, reason: str) -> Step:
        self.cut_reason = reason
        return "cut"

    def after(self, keys: Sequence[str], cursor: str | None = None) -> Step:
        """The decision after a page whose items are known by `keys` (their ids, in the order given), and the next
        cursor the answer named (cursor paging)."""
        self.pages += 1
        count = len(keys)
        if self.mode == "none":
            return (
                self._cut(f"the answer has {count} items, the back-end's cap")
                if self._capped(count)
                else "done"
            )
        if count == 0:
            return "done"
        if self.mode == "cursor":
            if cursor is None:
                return "done"
            if cursor in self._cursors:
                return self._cut("the back-end gave the same cursor twice")
            self._cursors.add(cursor)
        else:
            page = tuple(keys)
            if page == self._previous:  # the page number is ignored: this page is all there is to read
                return (
                    self._cut("the back-end ignores the page number and its answer is capped")
                    if (self._capped(count))
                    else "done"
                )
            self._previous = page
            full = min(self.page_size, self.answer_cap) if self.answer_cap else self.page_size
            if count < full:
                return "done"
        if self.pages >= self.max_pages:
            return self._cut(f"more than max_pages ({self.max_pages}) pages")
        return "next"


def halves(
    start: datetime, end: datetime, minimum: timedelta
) -> tuple[tuple[datetime, datetime], ...] | None:
    """The window split in two halves that share their middle instant (inclusive bounds, so nothing between them is
    missed; a row at the middle is read twice and de-duplicated), or None when a half would be under `minimum`."""
    if end - start < 2 * minimum:
        return None
    middle = start + (end - start) / 2
    return (start, middle), (middle, end)
