"""agent read model: geo's placement, duplicate candidates, merges; emptied for projections.agent.v2 to replay

Revision ID: projections_0003
Revises: projections_0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "projections_0003"
down_revision = "projections_0002"
branch_labels = None
depends_on = None

# Each agent-list filter of this revision, as a partial index in the page order.
_FLAG_INDEXES = {
    "agent_requests_unmerged_page": "merged_into is null",
    "agent_requests_duplicate_suspected_page": "duplicate_suspected",
    "agent_requests_outside_jurisdiction_page": "inside_jurisdiction = false",
    "agent_requests_needs_placing_page": "needs_placing",
}


def upgrade() -> None:
    # The agent view is rebuilt by `projections.agent.v2` from offset 0: its rows and history must start empty, or
    # the replay would count every event twice and collide on the history's event ids. The v1 group's positions
    # and inbox rows stay behind, unused.
    op.execute("truncate projections.agent_requests, projections.agent_request_history")
    op.execute(
        """alter table projections.agent_requests
             add column submitted_location geography(Point, 4326),
             add column placement jsonb,
             add column geo_service_areas jsonb,
             add column geo_area_ids text[],
             add column inside_jurisdiction boolean,
             add column unplaced jsonb,
             add column needs_placing boolean generated always as (unplaced is not null) stored,
             add column duplicate_candidates jsonb not null default '[]',
             add column duplicate_suspected boolean
               generated always as (jsonb_array_length(duplicate_candidates) > 0) stored,
             add column merged_into text,
             add column merged_at timestamptz,
             add column merge_note text"""
    )
    # A request's area. Without geo's word, the projection's own rule (the smallest current area covering the
    # point). Once geo placed the request, its areas win, even an empty list (outside the jurisdiction): the
    # smallest of them by the current boundaries this view knows, then by id, and the lowest id while none is known.
    op.execute(
        """create function projections.request_area(jurisdiction text, point geography, geo_areas text[])
           returns text language sql stable as $$
             select case when geo_areas is null then projections.covering_area(jurisdiction, point)
                    else (select g.id from unnest(geo_areas) as g(id)
                            left join projections.service_areas a
                              on a.is_current and a.jurisdiction_id = jurisdiction and a.area_id = g.id
                           order by ST_Area(a.geometry) nulls last, g.id
                           limit 1)
                    end
           $$"""
    )
    for name, predicate in _FLAG_INDEXES.items():
        op.execute(
            f"create index {name} on projections.agent_requests (updated_at desc, request_number)"
            f" where {predicate}"
        )
    op.execute(
        "create index agent_requests_merged_into on projections.agent_requests (merged_into)"
        " where merged_into is not null"
    )
    op.execute(
        "create index agent_requests_geo_area_ids on projections.agent_requests using gin (geo_area_ids)"
    )


def downgrade() -> None:
    op.execute("drop index projections.agent_requests_geo_area_ids")
    op.execute("drop index projections.agent_requests_merged_into")
    for name in _FLAG_INDEXES:
        op.execute(f"drop index projections.{name}")
    op.execute("drop function projections.request_area(text, geography, text[])")
    op.execute(
        """alter table projections.agent_requests
             drop column merge_note, drop column merged_at, drop column merged_into, drop column duplicate_suspected,
             drop column duplicate_candidates, drop column needs_placing, drop column unplaced,
             drop column inside_jurisdiction, drop column geo_area_ids, drop column geo_service_areas,
             drop column placement, drop column submitted_location"""
    )
