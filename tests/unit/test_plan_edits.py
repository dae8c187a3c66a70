"""Pure plan edits: split along a line, merge, hierarchical sequence codes."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import box

from mapapp.grids.edits import EditError, merge, sequence_codes, split


def test_split_along_a_line_gives_two_pieces_larger_first():
    keep, cut = split(box(0, 0, 100, 100), shapely.LineString([(-1, 30), (101, 30)]))
    assert (keep.area, cut.area) == (7000, 3000)
    assert shapely.union(keep, cut).equals(box(0, 0, 100, 100))


def test_split_refuses_a_line_that_does_not_cross():
    with pytest.raises(EditError) as exc:
        split(box(0, 0, 100, 100), shapely.LineString([(10, 10), (20, 20)]))
    assert exc.value.field == "line"


def test_merge_needs_a_shared_edge():
    assert merge([box(0, 0, 1, 1), box(1, 0, 2, 1)]).area == 2
    with pytest.raises(EditError):
        merge([box(0, 0, 1, 1), box(1, 1, 2, 2)])  # corner only


def test_merge_names_the_grid_already_in_pieces():
    two_piece = shapely.union_all([box(0, 0, 1, 1), box(5, 0, 6, 1)])
    with pytest.raises(EditError, match="grid G2 is in 2 pieces, so the merged grid would be in 2"):
        merge([box(1, 0, 2, 1), two_piece], ["G1", "G2"])
    with pytest.raises(EditError, match="must share an edge"):
        merge([box(0, 0, 1, 1), box(3, 0, 4, 1)], ["G1", "G2"])  # each one piece, apart


def test_sequence_codes_north_west_first():
    cents = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert sequence_codes("110101001001", cents) == [
        "110101001001004", "110101001001001", "110101001001002", "110101001001003"]


def test_paint_moves_the_units_cell_and_keeps_the_tiling():
    from mapapp.grids.edits import paint

    source, target = box(0, 0, 100, 100), box(100, 0, 200, 100)
    pts = shapely.points([[25, 50], [75, 50]])
    new_source, new_target = paint(source, target, pts, np.array([False, True]))
    assert new_source.area == pytest.approx(5000) and new_target.area == pytest.approx(15000)
    assert shapely.union(new_source, new_target).equals(box(0, 0, 200, 100))
    assert new_source.intersection(new_target).area == pytest.approx(0)
    with pytest.raises(EditError):
        paint(source, target, pts, np.array([True, True]))


def test_move_vertex_moves_the_shared_corner_in_both_grids():
    from mapapp.grids.edits import EditError, move_vertex
    a, b = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)
    moved, out = move_vertex(np.array([a, b, shapely.box(5, 5, 6, 6)], dtype=object), (1, 0), (0.8, 0), 1e-9)
    assert moved.tolist() == [True, True, False]
    assert shapely.area(shapely.intersection(out[0], out[1])) == 0  # no overlap
    assert shapely.union_all(out[:2]).area == pytest.approx(2.0)    # no gap
    with pytest.raises(EditError):
        move_vertex(np.array([a, b], dtype=object), (3, 3), (0, 0), 1e-9)
    with pytest.raises(EditError):
        move_vertex(np.array([a], dtype=object), (1, 0), (0.5, 2), 1e-9)  # crosses itself
