"""The pure rules of reading capped Open311 lists: when an answer is suspect, whether paging works, how pages are
walked and windows split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from civicloop_outbound.adapters.open311_lists import Chunk
from civicloop_outbound.adapters.open311_polling import PollReport
from civicloop_outbound.domain import open311_paging as paging
from civicloop_outbound.domain.open311_paging import ListMemory, Verdict

T0 = datetime(2017, 12, 27, tzinfo=UTC)


def test_the_configured_cap_wins_else_1000_or_the_longest_answer_seen_never_below_a_plausible_cap() -> None:
    assert paging.cap_threshold(50, ListMemory(longest=700)) == 50
    assert paging.cap_threshold(None, ListMemory()) == paging.PLAUSIBLE_CAP_FLOOR
    assert paging.cap_threshold(None, ListMemory(longest=3)) == paging.PLAUSIBLE_CAP_FLOOR
    assert paging.cap_threshold(None, ListMemory(longest=200)) == 200
    assert paging.cap_threshold(None, ListMemory(longest=5000)) == paging.DEFAULT_CAP
    assert paging.looks_capped(200, 200) and not paging.looks_capped(199, 200)


def test_memory_keeps_the_longest_answer() -> None:
    memory = ListMemory(paging=False, longest=40)
    assert memory.saw(12) is memory
    assert memory.saw(50) == ListMemory(paging=False, longest=50)


@pytest.mark.parametrize(
    ("mode", "known", "use", "probe"),
    [
        ("pages", None, True, False),
        ("pages", False, True, False),
        ("none", True, False, False),
        ("auto", None, False, True),
        ("auto", True, True, False),
        ("auto", False, False, False),
    ],
)
def test_paging_modes(mode: str, known: bool | None, use: bool, probe: bool) -> None:
    memory = ListMemory(paging=known)
    assert paging.use_paging(mode, memory) is use
    assert paging.should_probe(mode, memory) is probe


def test_paging_is_honoured_when_page_2_differs_from_page_1() -> None:
    plain = ["a", "b", "c"]
    assert paging.paging_verdict(plain, ["a", "b"], ["c", "d"], page_size=2) is True
    assert paging.paging_verdict(plain, ["a", "b"], [], page_size=2) is True  # everything fitted on page 1
    assert paging.paging_verdict(plain, ["a", "b"], ["b", "a"], page_size=2) is False  # page ignored
    assert paging.paging_verdict(plain, ["a", "b", "c"], ["d"], page_size=2) is False  # page_size ignored
    assert paging.paging_verdict([], [], [], page_size=2) is None  # an empty window tells nothing


def test_a_page_1_other_than_the_start_of_the_plain_answer_is_not_trusted() -> None:
    # Pages counted from 0: "page 1" is the second page, and walking from it would skip the first.
    assert paging.paging_verdict(["a", "b", "c", "d"], ["c", "d"], ["e", "f"], page_size=2) is False
    assert paging.paging_verdict(["a", "b", "c", "d"], ["b", "a"], ["c", "d"], page_size=2) is True


def test_pages_are_walked_while_full_and_new() -> None:
    assert paging.next_page(1, rows=100, new_rows=100, page_size=100, threshold=1000) == 2
    assert paging.next_page(3, rows=99, new_rows=99, page_size=100, threshold=1000) is None  # the last page
    assert paging.next_page(1, rows=0, new_rows=0, page_size=100, threshold=1000) is None
    assert paging.next_page(2, rows=100, new_rows=0, page_size=100, threshold=1000) is None  # a repeated page
    # A back-end that clamps page_size to its own cap (50 of 100 asked) still has more pages.
    assert paging.next_page(1, rows=50, new_rows=50, page_size=100, threshold=50) == 2
    assert paging.next_page(paging.MAX_PAGES, rows=100, new_rows=100, page_size=100, threshold=1000) is None


def test_windows_split_in_halves_at_whole_seconds_down_to_the_minimum_span() -> None:
    assert paging.split(T0, T0 + timedelta(days=2)) == (
        (T0, T0 + timedelta(days=1)),
        (T0 + timedelta(days=1), T0 + timedelta(days=2)),
    )
    (_, middle), _ = paging.split(T0, T0 + timedelta(seconds=3))
    assert middle == T0 + timedelta(seconds=1) and middle.microsecond == 0
    assert paging.split(T0, T0 + timedelta(seconds=1)) == ()


def test_a_window_whose_middle_falls_inside_its_first_second_is_cut_one_second_in() -> None:
    assert paging.split(T0, T0 + timedelta(milliseconds=1500)) == (
        (T0, T0 + timedelta(seconds=1)),
        (T0 + timedelta(seconds=1), T0 + timedelta(milliseconds=1500)),
    )
    assert paging.split(T0 + timedelta(milliseconds=200), T0 + timedelta(seconds=2)) == (
        (T0 + timedelta(milliseconds=200), T0 + timedelta(seconds=1)),
        (T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)),
    )


def test_judging_an_answer() -> None:
    assert paging.judge(49, 50, can_split=True, ignores_window=False) is Verdict.complete
    assert paging.judge(50, 50, can_split=True, ignores_window=False) is Verdict.split
    assert paging.judge(50, 50, can_split=False, ignores_window=False) is Verdict.stuck
    assert paging.judge(50, 50, can_split=True, ignores_window=True, hard_cap=50) is Verdict.stuck
    # Suspect only by the longest answer seen, from a back-end that ignores the dates: all it holds, whole.
    assert paging.judge(166, 166, can_split=True, ignores_window=True, hard_cap=1000) is Verdict.complete
    assert paging.judge(10, 50, can_split=True, ignores_window=True) is Verdict.complete  # whole, if odd


def test_rows_outside_the_window_by_more_than_the_slack_mean_the_dates_are_ignored() -> None:
    end = T0 + timedelta(hours=1)
    assert not paging.outside_window([T0, end, None, T0 + timedelta(hours=20)], T0, end)
    assert paging.outside_window([T0 - timedelta(days=2)], T0, end)
    assert paging.outside_window([end + timedelta(days=1, seconds=1)], T0, end)


def test_long_ranges_are_cut_into_windows_of_at_most_the_span() -> None:
    span = timedelta(days=90)
    got = paging.windows(T0, T0 + timedelta(days=200), span)
    assert [e - s for s, e in got] == [span, span, timedelta(days=20)]
    assert got[0][0] == T0 and all(a[1] == b[0] for a, b in pairwise(got))
    assert paging.windows(T0, T0, span) == [(T0, T0)]


def test_a_report_follows_chunks_read_whole_and_stops_at_the_first_capped_one() -> None:
    report = PollReport()
    hour = timedelta(hours=1)
    report.advance(Chunk(T0, T0 + hour, []))
    assert report.read_to == T0 + hour and report.capped_error() is None
    report.advance(Chunk(T0 + hour, T0 + 2 * hour, [], complete=False))
    report.advance(Chunk(T0 + 2 * hour, T0 + 3 * hour, []))  # read whole, but after a hole
    assert report.read_to == T0 + hour
    assert report.capped == [(T0 + hour, T0 + 2 * hour)]
    assert "1 capped answer(s) could not be read whole" in (report.capped_error() or "")
