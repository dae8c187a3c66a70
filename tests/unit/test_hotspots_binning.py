"""Binning points into cells in numpy: the hexagon index is the hexagon whose centre is nearest
(so the one containing the point), squares floor, sums land in the listed cells and layers."""
from __future__ import annotations

import numpy as np
import shapely

from mapapp.hotspots.binning import hex_index, inside, square_index, sum_into, without


def _centre(i: np.ndarray, j: np.ndarray, size: float) -> np.ndarray:
    """ST_HexagonGrid's centre of cell (i, j)."""
    return np.column_stack([1.5 * size * i, np.sqrt(3) * size * (j + (i % 2) / 2)])


def test_hex_index_is_the_nearest_centre():
    rng = np.random.default_rng(7)
    size = 37.0
    xy = rng.uniform([-2000, -3000], [2500, 1800], (20_000, 2))
    i, j = hex_index(xy[:, 0], xy[:, 1], size)
    mine = np.linalg.norm(xy - _centre(i, j, size), axis=1)
    # every one of the 6 neighbouring centres (and the cell itself) is no nearer
    for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)):
        other = np.linalg.norm(xy - _centre(i + di, j + dj, size), axis=1)
        assert (mine <= other + 1e-9).all()
    assert (mine <= size + 1e-9).all()  # inside the circumscribed circle
    assert len(set(zip(i.tolist(), j.tolist()))) > 1000


def test_hex_index_on_known_points():
    size = 10.0
    i, j = hex_index(np.array([0.0, 15.0, 15.0, -15.0, 0.0]), np.array([0.0, 8.67, -8.65, -8.65, 17.33]), size)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 0), (1, 0), (1, -1), (-1, -1), (0, 1)]


def test_square_index_floors():
    i, j = square_index(np.array([0.0, 99.9, 100.0, -0.1]), np.array([5.0, -5.0, 250.0, 0.0]), 100.0)
    assert i.tolist() == [0, 0, 1, -1] and j.tolist() == [0, -1, 2, 0]


def test_sum_into_listed_cells_and_layers():
    cell_i, cell_j = np.array([3, 0, -1]), np.array([-2, 0, 5])
    pt_i = np.array([0, 0, 3, 9, -1, 0])
    pt_j = np.array([0, 0, -2, 9, 5, 0])
    w = np.array([1.0, 2.0, 1.0, 5.0, 1.0, 1.0])
    assert sum_into(cell_i, cell_j, pt_i, pt_j, w)[:, 0].tolist() == [1.0, 4.0, 1.0]
    cube = sum_into(cell_i, cell_j, pt_i, pt_j, w, layers=np.array([0, 1, 1, 0, 2, 3]), n_layers=3)
    assert cube.tolist() == [[0, 1, 0], [1, 2, 0], [0, 0, 1]]  # layer 3 is outside the cube


def test_inside_counts_the_boundary():
    square = shapely.to_wkb(shapely.box(0, 0, 1, 1))
    got = inside(square, np.array([0.5, 1.0, 1.5, 0.0]), np.array([0.5, 0.5, 0.5, 0.0]))
    assert got.tolist() == [True, True, False, True]


def test_without_takes_out_one_equal_row_per_taken_row():
    rows = np.array([[1.0, 2.0, 0.1], [3.0, 4.0, 0.2], [1.0, 2.0, 0.1], [5.0, 6.0, 0.3],
                     [1.0, 2.0, 0.7], [3.0, 4.0, 0.2]], dtype=">f8")
    taken = np.array([[1.0, 2.0, 0.1], [3.0, 4.0, 0.2], [3.0, 4.0, 0.2], [5.0, 6.0, 0.3]], dtype=">f8")
    left = without(rows, taken)
    assert sorted(map(tuple, left.tolist())) == [(1.0, 2.0, 0.1), (1.0, 2.0, 0.7)]
    assert without(rows, taken[:0]) is rows
    # sums over what is left are exact, where subtracting the taken weights leaves a residue
    w = np.array([[0.0, 0.0, 0.1], [0.0, 0.0, 0.2]])
    assert without(w, w).shape == (0, 3) and (0.1 + 0.2) - 0.1 - 0.2 != 0.0


def test_without_is_vectorised_over_many_rows():
    rng = np.random.default_rng(2)
    rows = rng.integers(0, 50, size=(20_000, 2)).astype(float)  # many repeated rows
    pick = rng.choice(len(rows), 3_000, replace=False)
    left = without(rows, rows[pick])
    assert len(left) == 17_000
    keep = np.ones(len(rows), bool)
    keep[pick] = False
    key = lambda a: np.unique(a, axis=0, return_counts=True)  # noqa: E731
    assert all((x == y).all() for x, y in zip(key(left), key(rows[keep])))
