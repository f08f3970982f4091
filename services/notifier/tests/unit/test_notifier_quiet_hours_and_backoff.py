from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfoNotFoundError

import pytest
from civicloop_notifier.domain.backoff import retry_at
from civicloop_notifier.domain.quiet_hours import QuietHours

NIGHT = QuietHours("America/New_York", time(21, 0), time(8, 0))


def test_outside_quiet_hours_a_message_goes_now():
    noon = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)  # 12:00 in New York
    assert NIGHT.release_at(noon) == noon


def test_in_the_evening_a_message_waits_until_the_next_morning():
    late = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)  # 22:30 in New York on the 7th
    assert NIGHT.release_at(late) == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)  # 08:00 on the 8th


def test_after_midnight_a_message_waits_until_that_morning():
    early = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)  # 02:00 in New York on the 8th
    assert NIGHT.release_at(early) == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)


def test_the_window_follows_daylight_saving_time():
    summer_night = datetime(2026, 7, 8, 2, 0, tzinfo=UTC)  # 22:00 EDT
    assert NIGHT.release_at(summer_night) == datetime(2026, 7, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT


def test_a_daytime_window_and_an_empty_one():
    lunch = QuietHours("Europe/Madrid", time(14, 0), time(16, 0))
    at = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)  # 15:30 in Madrid
    assert lunch.release_at(at) == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert QuietHours("UTC", time(3, 0), time(3, 0)).release_at(at) == at


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ZoneInfoNotFoundError):
        QuietHours("Mars/Olympus", time(21, 0), time(8, 0))


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("rand", [0.0, 0.5, 1.0])
def test_backoff_doubles_with_jitter_and_is_capped(rand):
    first = retry_at(NOW, attempt=1, initial_s=10, max_s=100, rand=rand) - NOW
    third = retry_at(NOW, attempt=3, initial_s=10, max_s=100, rand=rand) - NOW
    tenth = retry_at(NOW, attempt=10, initial_s=10, max_s=100, rand=rand) - NOW
    assert timedelta(seconds=5) <= first <= timedelta(seconds=10)
    assert timedelta(seconds=20) <= third <= timedelta(seconds=40)
    assert timedelta(seconds=50) <= tenth <= timedelta(seconds=100)


def test_backoff_honours_the_providers_retry_after():
    assert retry_at(NOW, attempt=1, initial_s=1, max_s=100, rand=0, retry_after_s=30) == NOW + timedelta(
        seconds=30
    )
