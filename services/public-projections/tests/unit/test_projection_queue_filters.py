"""The queue filters as SQL conditions, and the dormant instant, without IO."""

from __future__ import annotations

from datetime import UTC, datetime

from civicloop_projections.adapters.agent_views import filter_sql
from civicloop_projections.domain.queries import AgentRequestFilter, dormant_since

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_one_team_is_an_equality_and_several_any_of_them():
    one, params = filter_sql(AgentRequestFilter(jurisdiction_id="j", teams=("north",)), None)
    assert "team = %s" in one and params == ["north", "j"]
    several, params = filter_sql(AgentRequestFilter(assignees=("a", "b")), None)
    assert "assignee = any(%s)" in several and params == [["a", "b"]]


def test_unassigned_either_way():
    assert "assignee is null" in filter_sql(AgentRequestFilter(unassigned=True), None)[0]
    assert "assignee is not null" in filter_sql(AgentRequestFilter(unassigned=False), None)[0]
    assert "assignee" not in filter_sql(AgentRequestFilter(), None)[0]


def test_dormant_is_open_and_untouched_since_n_calendar_days():
    since = dormant_since(NOW, 14)
    assert since == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    where, params = filter_sql(AgentRequestFilter(dormant_before=since), None)
    assert "status <> 'closed' and last_activity_at < %s" in where and params == [since]
