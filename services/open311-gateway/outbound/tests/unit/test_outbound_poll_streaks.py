"""A back-end's polls failing in a row (`domain/poll_streaks.py`): said once per streak after the threshold, the
recovery said only after a streak that was, and the error's kind without the back-end's URL."""

from datetime import UTC, datetime, timedelta

import httpx
from civicloop_outbound.adapters.open311_client import Open311Permanent, Open311Temporary
from civicloop_outbound.adapters.poll_streaks import poll_error_kind
from civicloop_outbound.domain.poll_streaks import Announcement, Streak, after_poll

T0 = datetime(2026, 12, 5, 9, tzinfo=UTC)


def run(outcomes: list[str | None], threshold: int = 3) -> tuple[Streak, list[Announcement | None]]:
    streak, said = Streak(), []
    for n, error in enumerate(outcomes):
        step = after_poll(streak, error=error, at=T0 + timedelta(minutes=15 * n), threshold=threshold)
        streak = step.streak
        said.append(step.announce)
    return streak, said


def test_the_third_failure_in_a_row_is_said_once_and_the_streak_keeps_its_start():
    streak, said = run(["HTTP 503", "HTTP 503", "ConnectError", "HTTP 503", "HTTP 502"])
    assert said == [None, None, Announcement.failing, None, None]
    assert (streak.failures, streak.failing_since, streak.last_error) == (5, T0, "HTTP 502")


def test_the_first_success_after_a_said_streak_says_the_recovery_with_that_streak():
    streak = run(["HTTP 503"] * 4)[0]
    step = after_poll(streak, error=None, at=T0 + timedelta(hours=2), threshold=3)
    assert step.announce is Announcement.recovered and step.streak == Streak()
    assert (step.told().failures, step.told().failing_since) == (4, T0)
    assert after_poll(step.streak, error=None, at=T0, threshold=3).announce is None


def test_a_success_before_the_threshold_ends_the_streak_quietly_and_the_count_starts_again():
    streak, said = run(["HTTP 503", "HTTP 503", None, "HTTP 503", "HTTP 503"])
    assert said == [None] * 5
    assert (streak.failures, streak.failing_since) == (2, T0 + timedelta(minutes=45))


def test_a_new_streak_after_a_recovery_is_said_again():
    _, said = run(["HTTP 503", "HTTP 503", "HTTP 503", None, "HTTP 500", "HTTP 500", "HTTP 500"])
    assert said == [
        None,
        None,
        Announcement.failing,
        Announcement.recovered,
        None,
        None,
        Announcement.failing,
    ]


def test_a_threshold_of_one_says_the_first_failure():
    assert run(["HTTP 401"], threshold=1)[1] == [Announcement.failing]


def test_the_error_is_a_status_or_a_transport_errors_kind_never_the_url_or_the_key():
    url = "https://works.example.gov/open311/v2/servicerequestupdates.xml?api_key=s3cret"
    assert poll_error_kind(Open311Temporary(f"HTTP 503 from {url}: down", status=503)) == "HTTP 503"
    assert poll_error_kind(Open311Permanent(f"HTTP 401 from {url}", status=401)) == "HTTP 401"
    failure = Open311Temporary(f"ConnectError calling {url}: refused")
    failure.__cause__ = httpx.ConnectError(f"refused {url}")
    assert poll_error_kind(failure) == "ConnectError"
    assert poll_error_kind(Open311Permanent("secret deviant.key not found")) == "Open311Permanent"
