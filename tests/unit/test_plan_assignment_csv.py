"""Assignment CSV parsing and checks, without a database."""
from __future__ import annotations

import numpy as np
import pytest

from mapapp.errors import UserError
from mapapp.grids.assignment import check_against, parse


def test_parse_keeps_rows_and_allows_a_bom_and_blank_lines():
    ids, codes, rows = parse("\ufeffunit_id,grid_code\n5,G1\n\n7, G2 \n9,\n")
    assert ids.tolist() == [5, 7, 9] and codes.tolist() == ["G1", "G2", ""] and rows.tolist() == [2, 4, 5]


def test_every_bad_row_is_listed():
    with pytest.raises(UserError) as err:
        parse("unit_id,grid_code\nx,G1\n2,G1\n2,G2\n3\n")
    e = err.value
    assert e.status == 422 and e.row == 2 and e.field == "unit_id"
    assert [(p["row"], p["field"]) for p in e.extra["rows"]] == [(2, "unit_id"), (4, "unit_id"), (5, "row")]


def test_a_grid_across_two_communities_and_unknown_units_are_refused():
    scope, comm = np.array([1, 2, 3]), np.array([0, 0, 1])
    ids, codes, rows = parse("unit_id,grid_code\n1,A\n2,A\n3,A\n")
    with pytest.raises(UserError) as err:
        check_against(ids, codes, rows, scope, comm)
    assert err.value.row == 4 and "two communities" in str(err.value)
    ids, codes, rows = parse("unit_id,grid_code\n1,A\n2,A\n3,B\n8,B\n")
    with pytest.raises(UserError) as err:
        check_against(ids, codes, rows, scope, comm)
    assert err.value.row == 5 and err.value.field == "unit_id"
    check_against(*parse("unit_id,grid_code\n1,A\n2,A\n3,B\n"), scope, comm)
