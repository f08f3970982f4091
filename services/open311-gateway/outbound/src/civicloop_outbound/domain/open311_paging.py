"""Reading a back-end's lists without silent loss: when an answer was cut short, and what to do about it.

GeoReport v2 servers return a limited number of rows per answer (the standard's examples use 1,000; many cities cap
lower) and say nothing when they cut an answer short. Two remedies, decided here without IO:

* paging: ask `page=1, 2, ...` with `page_size` where the back-end honours them (learnt by asking page 2 once and
  seeing whether it differs from page 1, or configured per body);
* splitting: where it does not, an answer with as many rows as the cap (configured, or 1,000 and the longest answer
  seen) is taken as cut short and its date window is read again in halves, down to a minimum span. A minimum window
  still capped (or a back-end that ignores the dates) cannot be read whole: it is reported, and a poll's watermark
  stops before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

DEFAULT_CAP = 1000  # the standard's example cap: an answer this long is taken as cut short
PLAUSIBLE_CAP_FLOOR = 10  # no back-end caps below this; shorter answers are never suspected
MIN_SPAN = timedelta(seconds=1)  # Open311 dates are to the second: a window cannot be split below this
WINDOW_SLACK = timedelta(days=1)
MAX_PAGES = 10_000  # a walk of pages that never ends is a back-end bug, not data


@dataclass(frozen=True)
class ListMemory:
    """What was learnt about one list of one back-end: whether it honours page/page_size (None: not known yet)
    and the longest single answer it gave."""

    paging: bool | None = None
    longest: int = 0

    def saw(self, rows: int) -> ListMemory:
        return self if rows <= self.longest else replace(self, longest=rows)


def cap_threshold(answer_cap: int | None, memory: ListMemory) -> int:
    """How many rows make an answer suspect: the configured cap, else 1,000 or the longest answer seen before
    (whichever is lower; never below a plausible cap)."""
    if answer_cap is not None:
        return answer_cap
    return min(DEFAULT_CAP, max(PLAUSIBLE_CAP_FLOOR, memory.longest))


def looks_capped(rows: int, threshold: int) -> bool:
    return rows >= threshold


def use_paging(mode: str, memory: ListMemory) -> bool:
    """Whether to read with page/page_size from the start: `pages` always, `none` never, `auto` once learnt."""
    if mode == "pages":
        return True
    if mode == "none":
        return False
    return memory.paging is True


def should_probe(mode: str, memory: ListMemory) -> bool:
    """`auto` asks page 2 once, when an answer first looks capped and nothing is known yet."""
    return mode == "auto" and memory.paging is None


def paging_verdict(
    plain: Iterable[str], page_1: Iterable[str], page_2: Iterable[str], page_size: int
) -> bool | None:
    """Does the back-end honour page/page_size, judged from the keys of its plain answer and of pages 1 and 2 of the
    same window?

    More rows than asked for on page 1: page_size is ignored. Page 2 repeating page 1: page is ignored. Page 1 other
    than the first rows of the plain answer: maybe not the first page (pages counted from 0, another order), and
    trusting it could skip rows, so no. Otherwise page 2 different (or empty after a non-empty page 1): honoured. An empty page 1 tells
    nothing. Wrongly saying no costs queries (windows are split instead); wrongly saying yes could lose rows.
    """
    whole, first, second = list(plain), list(page_1), list(page_2)
    if not first:
        return None
    if len(first) > page_size:
        return False
    if whole and set(first) != set(whole[: len(first)]):
        return False
    return not (second and set(second) == set(first))


def page_is_full(rows: int, page_size: int, threshold: int) -> bool:
    """A page that may have a successor: as long as asked for, or as long as the back-end's cap (some clamp
    page_size to their own cap without saying so)."""
    return rows > 0 and (rows >= page_size or rows >= threshold)


def next_page(page: int, rows: int, new_rows: int, page_size: int, threshold: int) -> int | None:
    """The page to ask next, or None: the walk ends on a short or empty page, and on a page with nothing new (a
    back-end that repeats a page has run out)."""
    if new_rows == 0 or not page_is_full(rows, page_size, threshold) or page >= MAX_PAGES:
        return None
    return page + 1


def split(
    start: datetime, end: datetime, min_span: timedelta = MIN_SPAN
) -> tuple[tuple[datetime, datetime], ...]:
    """[start, end] in two halves cut at a whole second (Open311 dates have no fractions), or () when the window is
    already at the minimum span. The halves share their middle instant: rows there come twice, and are dropped
    the second time by key."""
    if end - start <= min_span:
        return ()
    middle = start + (end - start) / 2
    middle = middle.replace(microsecond=0)
    if middle <= start:
        middle = start + min_span
    if middle >= end:
        return ()
    return ((start, middle), (middle, end))


class Verdict(Enum):
    complete = "complete"  # the answer is whole: use it
    split = "split"  # cut short: read the halves instead
    stuck = "stuck"  # cut short and cannot be read whole: report it, stop the watermark before it


def judge(
    rows: int, threshold: int, *, can_split: bool, ignores_window: bool, hard_cap: int = DEFAULT_CAP
) -> Verdict:
    """What to do with one (unpaged) answer of a window. `ignores_window`: the answer holds rows dated outside the
    window asked for, so the back-end does not filter by these dates and splitting would never end. Such an answer
    is whole when it is shorter than the cap itself (`hard_cap`: the configured cap, else 1,000): only the longest
    answer seen made it suspect, and a back-end that ignores the dates gave all it holds."""
    if not looks_capped(rows, threshold):
        return Verdict.complete
    if ignores_window and rows < hard_cap:
        return Verdict.complete
    if not can_split or ignores_window:
        return Verdict.stuck
    return Verdict.split


def hard_cap(answer_cap: int | None) -> int:
    """The cap itself: the configured one, else the standard's example."""
    return answer_cap if answer_cap is not None else DEFAULT_CAP


def outside_window(
    dates: Iterable[datetime | None], start: datetime, end: datetime, slack: timedelta = WINDOW_SLACK
) -> bool:
    """Whether any dated row lies outside [start, end] by more than `slack` (a back-end reading our UTC dates as its
    local time shifts the window by hours, not days)."""
    return any(d is not None and not (start - slack <= d <= end + slack) for d in dates)


def windows(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into consecutive windows no longer than `span` (RQ-03: at most 90 days)."""
    out = []
    cursor = start
    while cursor < end:
        nxt = min(cursor + span, end)
        out.append((cursor, nxt))
        cursor = nxt
    return out or [(start, end)]
