"""Pure rules of reading lists without silent loss: the Open311 front's pages, walking a back-end's pages, halving a
cut window, CSV exports still being written, and rows found by when they were published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_backend_adapters.adapters.csv_feed import (
    Export,
    Published,
    merge_published,
    readable_text,
    settling,
)
from civicloop_backend_adapters.domain.backend import Update, Window
from civicloop_backend_adapters.domain.paging import (
    BadPaging,
    PageRequest,
    PageWalk,
    halves,
    page_of,
    page_request,
)
from civicloop_backend_adapters.service_layer.snapshots import Snapshots

T0 = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


def test_page_request_defaults_caps_and_refuses_nonsense() -> None:
    assert page_request(None, None, 1000) == PageRequest(page=1, page_size=1000, asked=False)
    assert page_request("3", "50", 1000) == PageRequest(page=3, page_size=50, asked=True)
    assert page_request(None, "5000", 1000) == PageRequest(page=1, page_size=1000, asked=True)
    for page, size in (("0", None), ("-1", None), (None, "0"), ("two", None), (None, "1.5")):
        with pytest.raises(BadPaging):
            page_request(page, size, 1000)


def test_pages_cover_the_rows_once_in_order() -> None:
    rows = list(range(23))
    pages = [page_of(rows, PageRequest(n, 10, True)) for n in (1, 2, 3, 4)]
    assert pages[:3] == [rows[:10], rows[10:20], rows[20:]] and pages[3] == []
    assert page_of(rows, PageRequest(1, 1000, False)) == rows


def _keys(n: int, start: int = 0) -> list[str]:
    return [f"WO-{i}" for i in range(start, start + n)]


def test_page_numbers_end_on_a_short_or_empty_page() -> None:
    walk = PageWalk("page", page_size=100, answer_cap=None, max_pages=10)
    assert walk.after(_keys(100)) == "next"
    assert walk.after(_keys(99, 100)) == "done" and walk.cut_reason is None
    walk = PageWalk("page", page_size=100, answer_cap=None, max_pages=10)
    assert walk.after(_keys(100)) == "next"
    assert walk.after([]) == "done"


def test_a_page_as_long_as_the_back_ends_cap_is_full_even_below_our_page_size() -> None:
    walk = PageWalk("page", page_size=100, answer_cap=50, max_pages=10)
    assert walk.after(_keys(50)) == "next"
    assert walk.after(_keys(50, 50)) == "next"
    assert walk.after(_keys(7, 100)) == "done"
    uncapped = PageWalk("page", page_size=100, answer_cap=None, max_pages=10)
    assert uncapped.after(_keys(50)) == "done"  # without the cap configured, 50 of 100 looks like the end


def test_the_same_page_twice_means_the_page_number_is_ignored() -> None:
    walk = PageWalk("page", page_size=100, answer_cap=None, max_pages=10)
    assert walk.after(_keys(300)) == "next"  # longer than asked: page_size ignored too
    assert walk.after(_keys(300)) == "done"  # everything came in one answer
    capped = PageWalk("page", page_size=100, answer_cap=100, max_pages=10)
    assert capped.after(_keys(100)) == "next"
    assert capped.after(_keys(100)) == "cut" and "ignores the page number" in (capped.cut_reason or "")


def test_too_many_pages_is_a_cut_answer() -> None:
    walk = PageWalk("page", page_size=10, answer_cap=None, max_pages=3)
    assert [walk.after(_keys(10, 10 * n)) for n in range(3)] == ["next", "next", "cut"]
    assert "max_pages (3)" in (walk.cut_reason or "")


def test_cursor_paging_ends_without_a_cursor_and_is_cut_by_a_repeated_one() -> None:
    walk = PageWalk("cursor", page_size=100, answer_cap=None, max_pages=10)
    assert walk.after(_keys(2), "c1") == "next"
    assert walk.after(_keys(2, 2), None) == "done"
    looping = PageWalk("cursor", page_size=100, answer_cap=None, max_pages=10)
    assert looping.after(_keys(2), "c1") == "next"
    assert looping.after(_keys(2, 2), "c1") == "cut"
    assert PageWalk("cursor", page_size=100, answer_cap=None, max_pages=10).after([], "c9") == "done"


def test_an_unpaged_answer_as_long_as_the_cap_is_cut() -> None:
    assert PageWalk("none", page_size=100, answer_cap=50, max_pages=1).after(_keys(49)) == "done"
    cut = PageWalk("none", page_size=100, answer_cap=50, max_pages=1)
    assert cut.after(_keys(50)) == "cut" and "50 items" in (cut.cut_reason or "")
    assert PageWalk("none", page_size=100, answer_cap=None, max_pages=1).after(_keys(5000)) == "done"


def test_halves_share_their_middle_and_stop_at_the_minimum_span() -> None:
    parts = halves(T0, T0 + timedelta(hours=2), timedelta(minutes=1))
    assert parts == ((T0, T0 + timedelta(hours=1)), (T0 + timedelta(hours=1), T0 + timedelta(hours=2)))
    assert halves(T0, T0 + timedelta(seconds=119), timedelta(minutes=1)) is None
    assert halves(T0, T0 + timedelta(seconds=120), timedelta(minutes=1)) is not None


def test_looking_back_moves_only_a_bounded_start() -> None:
    window = Window(T0, T0 + timedelta(hours=1))
    assert window.looking_back(timedelta(days=2)) == Window(T0 - timedelta(days=2), T0 + timedelta(hours=1))
    assert window.looking_back(timedelta(0)) is window
    assert Window(None, T0).looking_back(timedelta(days=2)) == Window(None, T0)


def test_a_last_line_being_written_waits_until_the_file_settles() -> None:
    text = "id,status\nA,Open\nB,Ope"
    assert readable_text(Export("x.csv", text, being_written=True)) == "id,status\nA,Open\n"
    assert readable_text(Export("x.csv", text, being_written=False)) == text
    assert readable_text(Export("x.csv", text + "n\n", being_written=True)) == text + "n\n"
    settle = timedelta(seconds=60)
    assert settling(text, T0, T0 + timedelta(seconds=59), settle)
    assert not settling(text, T0, T0 + timedelta(seconds=60), settle)
    assert not settling(text + "n\n", T0, T0, settle) and not settling("", T0, T0, settle)


def _update(uid: str, when: datetime) -> Update:
    return Update(update_id=uid, service_request_id=uid.upper(), status="open", updated_datetime=when)


def test_an_update_is_published_when_it_first_appeared_and_found_by_either_time() -> None:
    old = _update("a", T0 - timedelta(days=2))
    merged = merge_published(
        [(old, T0 + timedelta(hours=1)), (old, T0), (old, None), (_update("b", T0), None)]
    )
    assert merged == [Published(old, T0), Published(_update("b", T0), None)]
    late = merged[0]
    assert late.in_window(Window(T0 - timedelta(minutes=5), T0 + timedelta(minutes=5)))  # when it appeared
    assert late.in_window(Window(T0 - timedelta(days=3), T0 - timedelta(days=1)))  # its own change time
    assert not late.in_window(Window(T0 + timedelta(minutes=1), None))
    assert not Published(old, None).in_window(Window(T0 - timedelta(minutes=5), None))


async def test_later_pages_are_cut_from_the_read_of_page_one_while_it_is_young() -> None:
    now = [0.0]
    reads: list[str] = []

    async def load(what: str) -> str:
        reads.append(what)
        return f"{what}#{len(reads)}"

    snapshots = Snapshots(60, size=2, clock=lambda: now[0])
    assert await snapshots.read("w1", lambda: load("w1"), fresh=True) == "w1#1"
    assert await snapshots.read("w1", lambda: load("w1"), fresh=False) == "w1#1"  # page 2: the same read
    assert await snapshots.read("w1", lambda: load("w1"), fresh=True) == "w1#2"  # page 1 again: news
    now[0] = 60.0
    assert await snapshots.read("w1", lambda: load("w1"), fresh=False) == "w1#3"  # too old: read again
    await snapshots.read("w2", lambda: load("w2"), fresh=True)
    await snapshots.read("w3", lambda: load("w3"), fresh=True)
    assert await snapshots.read("w1", lambda: load("w1"), fresh=False) == "w1#6"  # pushed out by two others
    off = Snapshots(0, clock=lambda: now[0])
    await off.read("w", lambda: load("w"), fresh=True)
    assert await off.read("w", lambda: load("w"), fresh=False) == "w#8"
