"""What every intake runs inside PostgreSQL stays cheap: the plans of the tally trigger and the duplicate search."""
from __future__ import annotations

from sqlalchemy import text


def test_tally_keys_are_inlined_into_the_trigger_statement(db):
    """incident_tally_keys is planned as part of the statement that uses it, not run through the
    SQL-function executor (which parsed and planned its query again on every intake)."""
    with db.connect() as conn:
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT k.* FROM incidents r, incident_tally_keys(r.geom, r.reported_at, r.category, r.status) k"
        )).scalars())
    assert "incident_tally_keys" not in plan, plan
    assert "st_transform" in plan.lower()


def test_duplicate_search_filters_the_category_inside_the_index(db):
    """Intake's duplicate search reads open incidents of its own category only: the category is a
    condition on the partial GiST index (btree_gist), not a filter after fetching every nearby row."""
    with db.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # the test table is tiny; the plan's shape is the point
        plan = "\n".join(conn.execute(text("""
            EXPLAIN SELECT o.id FROM incidents o
             WHERE o.category = 'public_order.noise'
               AND o.status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled')
               AND o.geom && ST_Expand(ST_SetSRID(ST_MakePoint(24.94, 60.16), 4326), 0.001)""")).scalars())
    assert "incidents_open_geom" in plan, plan
    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "category" in cond, plan
