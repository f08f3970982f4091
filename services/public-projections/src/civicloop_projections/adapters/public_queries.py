"""The public figures, read from `projections.public_requests` (and the SLA read model's verdicts, which hold no
personal data): the weekly aggregates of the CSV and the last days' summary of /public.

NPS here is computed in SQL by the rule of `domain.public_stats.nps`; the SLA verdict of a request is its resolve
target's state (`projections.sla_target_state`): met or missed once it is resolved, none without a target.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

_NPS = """case when count(nps_score) filter (where {cond}) = 0 then null else round(100.0 * (
    count(*) filter (where {cond} and nps_score >= 9) - count(*) filter (where {cond} and nps_score <= 6))
    / count(nps_score) filter (where {cond}))::int end"""

# Each request (the columns the figures need: narrow rows sort fast) with its time zone and SLA verdict (true: met, false: missed, null: no target or not resolved).
_REQUESTS = """
  select p.jurisdiction_id, p.service_code, p.service_areas, p.submitted_at, p.closed_at, p.nps_score,
         coalesce(d.definition->>'time_zone', %(tz)s) as tz,
         case projections.sla_target_state(s.resolve_minutes, s.resolve_at_risk_from, s.resolve_due_at,
                                           s.resolved_at, %(now)s::timestamptz)
           when 'met' then true when 'missed' then false end as on_time
    from projections.public_requests p
    left join projections.sla_definitions d on d.jurisdiction_id = p.jurisdiction_id
    left join projections.request_sla s on s.request_number = p.request_number
   where %(jurisdiction)s::text is null or p.jurisdiction_id = %(jurisdiction)s
"""

_CLOSED_FIGURES = f"""count(*) as resolved,
       percentile_cont(0.5) within group (order by extract(epoch from closed_at - submitted_at) / 3600.0)
         as median_hours_to_resolve,
       count(on_time) as sla_judged,
       (count(*) filter (where on_time))::float / nullif(count(on_time), 0) as sla_on_time_share,
       count(nps_score) as nps_responses,
       {_NPS.format(cond="true")} as nps"""

# Linear in the requests: filed per week of submission, resolved (and the figures of the resolved) per week of the
# latest close, then a running sum of the two gives what was open at each week's end. The grid of weeks x keys
# (every key of the jurisdiction: 'all', its categories, its areas) gives weeks without activity their zeros.
_WEEKLY = f"""
with req as ({_REQUESTS}),
keyed as (
  select k.*, date_trunc('week', k.submitted_at at time zone k.tz) as filed_week,
         date_trunc('week', k.closed_at at time zone k.tz) as closed_week
    from (select r.*, 'all' as dimension, '' as key from req r
          union all select r.*, 'category', r.service_code from req r
          union all select r.*, 'service_area', area from req r cross join unnest(r.service_areas) as area) k
),
weeks as (
  select j.jurisdiction_id, week_start
    from (select jurisdiction_id, tz, min(submitted_at at time zone tz) as first from req
           group by jurisdiction_id, tz) j
   cross join generate_series(date_trunc('week', j.first),
                              date_trunc('week', %(now)s::timestamptz at time zone j.tz), interval '1 week')
              as week_start
),
keys as (select jurisdiction_id, dimension, key from keyed group by 1, 2, 3),
filed as (
  select jurisdiction_id, dimension, key, filed_week as week_start, count(*) as filed
    from keyed group by 1, 2, 3, 4
),
closed as (
  select jurisdiction_id, dimension, key, closed_week as week_start, {_CLOSED_FIGURES}
    from keyed where closed_at is not null group by 1, 2, 3, 4
),
grid as (
  select w.jurisdiction_id, w.week_start, k.dimension, k.key,
         coalesce(f.filed, 0) as filed, coalesce(c.resolved, 0) as resolved,
         sum(coalesce(f.filed, 0) - coalesce(c.resolved, 0)) over (
           partition by w.jurisdiction_id, k.dimension, k.key order by w.week_start) as open_at_week_end,
         c.median_hours_to_resolve, coalesce(c.sla_judged, 0) as sla_judged, c.sla_on_time_share,
         coalesce(c.nps_responses, 0) as nps_responses, c.nps
    from weeks w
    join keys k on k.jurisdiction_id = w.jurisdiction_id
    left join filed f on (f.jurisdiction_id, f.dimension, f.key, f.week_start)
                       = (w.jurisdiction_id, k.dimension, k.key, w.week_start)
    left join closed c on (c.jurisdiction_id, c.dimension, c.key, c.week_start)
                        = (w.jurisdiction_id, k.dimension, k.key, w.week_start)
)
select jurisdiction_id, to_char(week_start, 'IYYY-"W"IW') as iso_week, week_start::date as week_start,
       dimension, key, filed, resolved, open_at_week_end::bigint as open_at_week_end, median_hours_to_resolve,
       sla_judged, sla_on_time_share, nps_responses, nps
  from grid
 where dimension = 'all' or filed > 0 or resolved > 0 or open_at_week_end > 0
 order by jurisdiction_id, week_start, array_position(array['all', 'category', 'service_area'], dimension), key
"""


async def weekly(
    conn: psycopg.AsyncConnection[Any], *, now: datetime, jurisdiction: str | None, default_tz: str
) -> list[dict[str, Any]]:
    """Every week from a jurisdiction's first request to the current one (ISO weeks in its time zone)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(_WEEKLY, {"now": now, "jurisdiction": jurisdiction, "tz": default_tz})
    return await cur.fetchall()


_WINDOW = "k.closed_at >= %(since)s and k.closed_at < %(now)s::timestamptz"
_SUMMARY = f"""
with req as ({_REQUESTS}),
keyed as (
  select r.*, 'all' as dimension, '' as key from req r
  union all select r.*, 'category', r.service_code from req r
  union all select r.*, 'service_area', area from req r cross join unnest(r.service_areas) as area
)
select k.dimension, k.key,
       count(*) filter (where k.submitted_at >= %(since)s) as filed,
       count(*) filter (where {_WINDOW}) as resolved,
       count(*) filter (where k.closed_at is null) as open,
       percentile_cont(0.5) within group (order by extract(epoch from k.closed_at - k.submitted_at) / 3600.0)
         filter (where {_WINDOW}) as median_hours_to_resolve,
       count(k.on_time) filter (where {_WINDOW}) as sla_judged,
       (count(*) filter (where {_WINDOW} and k.on_time))::float
         / nullif(count(k.on_time) filter (where {_WINDOW}), 0) as sla_on_time_share,
       count(k.nps_score) filter (where {_WINDOW}) as nps_responses,
       {_NPS.format(cond=_WINDOW)} as nps
  from keyed k
 where k.submitted_at < %(now)s::timestamptz
   and (k.submitted_at >= %(since)s or k.closed_at >= %(since)s or k.closed_at is null)
 group by k.dimension, k.key
 order by array_position(array['all', 'category', 'service_area'], k.dimension), filed desc, k.key
"""


async def summary(
    conn: psycopg.AsyncConnection[Any],
    *,
    now: datetime,
    since: datetime,
    jurisdiction: str | None,
    default_tz: str,
) -> list[dict[str, Any]]:
    """Filed and resolved between `since` and `now`, open now, and the figures of those resolved, per dimension."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(_SUMMARY, {"now": now, "since": since, "jurisdiction": jurisdiction, "tz": default_tz})
    return await cur.fetchall()


async def cells(
    conn: psycopg.AsyncConnection[Any], *, since: datetime, jurisdiction: str | None, min_count: int
) -> tuple[list[dict[str, Any]], int]:
    """Requests filed since `since` per H3 cell (its centre), cells with fewer than `min_count` left out; and how
    many requests those left-out cells held."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        """select h3_cell, min(cell_lat) as lat, min(cell_long) as long, count(*) as requests
             from projections.public_requests
            where h3_cell is not null and submitted_at >= %(since)s
              and (%(jurisdiction)s::text is null or jurisdiction_id = %(jurisdiction)s)
            group by h3_cell order by h3_cell""",
        {"since": since, "jurisdiction": jurisdiction},
    )
    rows = await cur.fetchall()
    shown = [r for r in rows if r["requests"] >= min_count]
    return shown, sum(r["requests"] for r in rows if r["requests"] < min_count)
