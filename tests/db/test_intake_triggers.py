"""What every intake runs inside PostgreSQL stays cheap: the plans of the tally trigger's statement."""
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
