"""Automatic redistricting of one community: recursive balanced bisection of its base units
(cut across the longer side, at a point where both sides can still be split into grids in the
band), then each grid is the union of its units' Voronoi cells clipped to the community, so the
grids tile it with no gap and no overlap. A cut can strand a cell: stranded pieces go to the
neighbouring grid, and a grid left out of band is re-split with a neighbour (the one-click
repair) or trades a border unit with it.

Hand-written rather than spopt max-p: max-p has a floor but no ceiling on the band (and took
115 s for 1,600 units); GerryChain's recursive_tree_part balances around one target with a
tolerance but does not draw grids. scripts/bench_planning runs all three on the same units.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [0.7071, 0.7071], [0.7071, -0.7071],
                       [0.9239, 0.3827], [0.3827, 0.9239], [0.9239, -0.3827], [0.3827, -0.9239]])


class NoBalancedPlan(ValueError):
    """The community's households cannot be split into grids within the band."""


@dataclass(frozen=True)
class AutoResult:
    labels: np.ndarray        # part number per unit
    geoms: np.ndarray         # one grid geometry per part
    households: np.ndarray    # households per part


def part_count(total: float, low: float, high: float) -> int:
    """How many grids: the count whose mean is nearest the band's middle, mean inside the band."""
    k_min, k_max = int(np.ceil(total / high)), int(np.floor(total / low))
    if total <= 0 or k_min > k_max:
        raise NoBalancedPlan(
            f"{total:g} households cannot be split into grids of {low:g}-{high:g}: at least "
            f"ceil({total:g}/{high:g}) = {k_min} grids are needed to stay under {high:g}, but at most "
            f"floor({total:g}/{low:g}) = {k_max} can each reach {low:g}")
    return int(np.clip(round(total / ((low + high) / 2)), max(k_min, 1), k_max))


def infeasible_units(households: np.ndarray, high: float) -> np.ndarray:
    """Indices of units that alone hold more households than a grid may: no plan can put
    their grid in band (a building is never split)."""
    return np.flatnonzero(np.asarray(households, dtype=float) > high)


def _cut(xy: np.ndarray, w: np.ndarray, k1: int, parts: int, band: tuple[float, float] | None,
         directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Order the units along the first direction (axes before diagonals) with a cut that leaves
    both sides splittable into k1 and parts-k1 grids in band, nearest the share k1/parts;
    returns (order, cut index, feasible)."""
    proj = xy @ directions.T
    span = proj.max(axis=0) - proj.min(axis=0)
    total = w.sum()
    target = total * k1 / parts
    best = None
    # the two axes first (cleaner cuts), longer extent first; the diagonals only when needed
    for d in np.r_[np.argsort(-span[:2]), 2 + np.argsort(-span[2:])]:
        order = np.argsort(proj[:, d], kind="stable")
        cum = np.cumsum(w[order])[:-1]
        pos = np.arange(1, len(order))
        ok = (pos >= k1) & (len(order) - pos >= parts - k1)  # a unit for every grid on each side
        if band is not None:
            low, high = band
            ok &= (cum >= max(k1 * low, total - (parts - k1) * high)) & \
                  (cum <= min(k1 * high, total - (parts - k1) * low))
        if ok.any():
            cand = np.flatnonzero(ok)
            return order, int(pos[cand[np.argmin(np.abs(cum[cand] - target))]]), True
        if best is None:
            fallback = np.flatnonzero((pos >= k1) & (len(order) - pos >= parts - k1))
            best = (order, int(pos[fallback[np.argmin(np.abs(cum[fallback] - target))]]))
    return best[0], best[1], False


def bisect(xy: np.ndarray, weight: np.ndarray, k: int,
           band: tuple[float, float] | None = None) -> np.ndarray:
    """Labels 0..k-1: split the units in two across their longer extent, recursively; with a
    band, each cut keeps both sides' totals splittable into grids in band when it can."""
    xy = np.asarray(xy, dtype=float)
    weight = np.asarray(weight, dtype=float)
    labels = np.zeros(len(xy), dtype=int)
    stack = [(np.arange(len(xy)), k, 0)]
    while stack:
        idx, parts, first = stack.pop()
        if parts == 1:
            labels[idx] = first
            continue
        k1 = parts // 2
        order, cut, _ = _cut(xy[idx], weight[idx], k1, parts, band, DIRECTIONS)
        stack.append((idx[order[:cut]], k1, first))
        stack.append((idx[order[cut:]], parts - k1, first + k1))
    return labels


def redistrict(community: BaseGeometry, points: np.ndarray, households: np.ndarray,
               low: float, high: float, xy: np.ndarray | None = None,
               deadline: float | None = None) -> AutoResult:
    """Grids for one community from its base units' points and households; `xy` are the points
    in metres when the geometries are lon/lat (cut in metres, draw in the stored coordinates);
    band repair stops at `deadline` (time.perf_counter())."""
    hh = np.asarray(households, dtype=float)
    return split_units(community, points, hh, part_count(float(hh.sum()), low, high), xy, (low, high),
                       deadline)


def split_units(area: BaseGeometry, points: np.ndarray, households: np.ndarray, k: int,
                xy: np.ndarray | None = None, band: tuple[float, float] | None = None,
                deadline: float | None = None) -> AutoResult:
    """k grids tiling `area`, balanced by households and in `band` where the units allow (also
    the one-click repair: k=2 over two neighbouring grids)."""
    pts = np.asarray(points, dtype=object)
    hh = np.asarray(households, dtype=float)
    if len(pts) < k:
        raise NoBalancedPlan(f"{len(pts)} base units cannot make {k} grids")
    xy = shapely.get_coordinates(pts) if xy is None else np.asarray(xy, dtype=float)
    if band is None and k == 2:  # the repair: aim both halves at the middle
        band = (hh.sum() / 2 - hh.max(), hh.sum() / 2 + hh.max())
    pieces, owner = _pieces(area, pts)
    return assemble(pieces, owner, hh, xy, k, band, deadline)


def assemble(pieces: np.ndarray, owner: np.ndarray, hh: np.ndarray, xy: np.ndarray, k: int,
             band: tuple[float, float] | None, deadline: float | None = None,
             noded: bool = True) -> AutoResult:
    """k grids from pieces tiling an area (piece i holds unit owner[i], or none when -1): units
    bisected by households, unowned pieces joined to a neighbour, parts made contiguous and
    brought into band; each grid is the union of its pieces (coverage union when the pieces'
    shared edges have the same vertices, else a full overlay)."""
    unit_labels = bisect(xy, hh, k, band)
    graph = _Graph(pieces, owner, hh, xy)
    labels = np.where(owner >= 0, unit_labels[np.maximum(owner, 0)], -1)
    labels = graph.attach_orphans(labels)
    labels = graph.make_contiguous(labels, k)
    if band is not None:
        labels = graph.repair_band(labels, k, *band, deadline=deadline)
    geoms = np.array([_union(pieces[labels == p], noded) for p in range(k)], dtype=object)
    unit_labels = np.empty(len(hh), dtype=int)
    unit_labels[owner[owner >= 0]] = labels[owner >= 0]
    return AutoResult(labels=unit_labels, geoms=geoms,
                      households=np.bincount(unit_labels, weights=hh, minlength=k))


def _union(pieces: np.ndarray, noded: bool) -> BaseGeometry:
    """One grid from its pieces: coverage union (fast) when their shared edges match vertex for
    vertex, else (or when GEOS finds them not noded, as clipping can leave) a full union."""
    if noded:
        try:
            return shapely.coverage_union_all(pieces)
        except shapely.errors.GEOSException:
            pass
    return shapely.union_all(pieces)


def _pieces(area: BaseGeometry, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The units' Voronoi cells clipped to the area, as single polygons; owner[i] is the unit
    whose point lies in piece i, or -1 for a piece a concave boundary cut off from its unit."""
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=area))
    cells = shapely.intersection(cells, area)
    parts, _ = shapely.get_parts(cells, return_index=True)
    parts = parts[shapely.get_type_id(parts) == 3]
    unit_idx, piece_idx = shapely.STRtree(parts).query(pts, predicate="intersects")
    owner = np.full(len(parts), -1)
    owner[piece_idx[::-1]] = unit_idx[::-1]  # a point on a shared edge: its first piece
    if len(np.unique(owner[owner >= 0])) != len(pts):
        raise NoBalancedPlan("some base units lie outside the area to redistrict")
    return parts, owner


class _Graph:
    """Rook adjacency of the pieces (shared border length), for contiguity and band repair."""

    def __init__(self, pieces: np.ndarray, owner: np.ndarray, hh: np.ndarray, xy: np.ndarray):
        a, b = shapely.STRtree(pieces).query(pieces, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        border = shapely.length(shapely.intersection(shapely.boundary(pieces[a]), shapely.boundary(pieces[b])))
        keep = border > 0
        self.a, self.b, self.border = a[keep], b[keep], border[keep]
        self.n = len(pieces)
        self.weight = np.where(owner >= 0, hh[np.maximum(owner, 0)], 0.0)
        centre = shapely.get_coordinates(shapely.centroid(pieces))
        self.xy = np.where((owner >= 0)[:, None], xy[np.maximum(owner, 0)], centre)
        m = sparse.coo_matrix((np.r_[self.border, self.border], (np.r_[self.a, self.b], np.r_[self.b, self.a])),
                              shape=(self.n, self.n)).tocsr()
        self.adj = m

    def _components(self, labels: np.ndarray) -> np.ndarray:
        same = labels[self.a] == labels[self.b]
        m = sparse.coo_matrix((np.ones(same.sum()), (self.a[same], self.b[same])), shape=(self.n, self.n))
        return connected_components(m, directed=False)[1]

    def _border_to(self, labels: np.ndarray, comp: np.ndarray, k: int) -> np.ndarray:
        """Shared border length of each component with each part (components x k)."""
        ea, eb, bl = np.r_[self.a, self.b], np.r_[self.b, self.a], np.r_[self.border, self.border]
        other = labels[eb]
        ok = (other >= 0) & (other != labels[ea])
        return sparse.coo_matrix((bl[ok], (comp[ea[ok]], other[ok])), shape=(comp.max() + 1, k)).toarray()

    def attach_orphans(self, labels: np.ndarray) -> np.ndarray:
        """Pieces without a unit join the labelled neighbour they share the longest border with."""
        labels = labels.copy()
        for _ in range(self.n):
            todo = labels < 0
            if not todo.any():
                break
            k = max(labels.max() + 1, 1)
            comp = self._components(np.where(todo, -1, labels))
            border = self._border_to(labels, comp, k)
            best = border.argmax(axis=1)
            has = border.max(axis=1) > 0
            move = todo & has[comp]
            if not move.any():
                labels[todo] = 0
                break
            labels[move] = best[comp[move]]
        return labels

    def make_contiguous(self, labels: np.ndarray, k: int, rounds: int = 20) -> np.ndarray:
        """Every part keeps its heaviest connected piece; the others go to the neighbouring part
        they share the longest border with (vectorised per round)."""
        labels = labels.copy()
        for _ in range(rounds):
            comp = self._components(labels)
            ncomp = comp.max() + 1
            comp_part = np.zeros(ncomp, dtype=int)
            comp_part[comp] = labels
            if ncomp == len(np.unique(labels)):
                break
            score = np.bincount(comp, weights=self.weight + 1e-6, minlength=ncomp)
            main = np.full(k, -1)
            order = np.lexsort((score, comp_part))
            main[comp_part[order]] = order  # the last (heaviest) component of each part wins
            stray = np.ones(ncomp, dtype=bool)
            stray[main[main >= 0]] = False
            border = self._border_to(labels, comp, k)
            target = border.argmax(axis=1)
            movable = stray & (border.max(axis=1) > 0)
            if not movable.any():
                break
            move = movable[comp]
            labels[move] = target[comp[move]]
        return labels

    def _connected_without(self, labels: np.ndarray, part: int, drop: np.ndarray) -> bool:
        nodes = np.flatnonzero(labels == part)
        nodes = nodes[~np.isin(nodes, drop)]
        if len(nodes) == 0:
            return False
        sub = self.adj[nodes][:, nodes]
        return connected_components(sub, directed=False)[0] == 1

    def _resplit(self, labels: np.ndarray, p: int, q: int, low: float, high: float) -> np.ndarray | None:
        """Re-split parts p and q into two connected parts in band, or None."""
        nodes = np.flatnonzero((labels == p) | (labels == q))
        w = self.weight[nodes]
        proj = self.xy[nodes] @ DIRECTIONS.T
        total = w.sum()
        best, best_score = None, np.inf
        for d in range(len(DIRECTIONS)):
            order = np.argsort(proj[:, d], kind="stable")
            cum = np.cumsum(w[order])[:-1]
            ok = np.flatnonzero((cum >= max(low, total - high)) & (cum <= min(high, total - low)))
            for c in ok[np.argsort(np.abs(cum[ok] - total / 2))][:5] + 1:
                trial = labels.copy()
                trial[nodes[order[:c]]] = p
                trial[nodes[order[c:]]] = q
                if not (self._connected_without(trial, p, nodes[:0]) and self._connected_without(trial, q, nodes[:0])):
                    continue
                score = abs(cum[c - 1] - total / 2) + np.count_nonzero(trial[nodes] != labels[nodes])
                if score < best_score:
                    best, best_score = trial, score
                break
        return best

    def repair_band(self, labels: np.ndarray, k: int, low: float, high: float,
                    rounds: int = 200, deadline: float | None = None) -> np.ndarray:
        """Bring parts into band: re-split an out-of-band part with a neighbour when their sum
        allows two grids in band, else hand a border unit across; a loop over the few parts out of
        band (a local search, not expressible as one array operation), stopped at `deadline`."""
        labels = labels.copy()

        def dev(t: np.ndarray) -> np.ndarray:
            return np.maximum(low - t, 0) + np.maximum(t - high, 0)
        for _ in range(rounds):
            if deadline is not None and time.perf_counter() > deadline:
                break
            totals = np.bincount(labels, weights=self.weight, minlength=k)
            bad = np.flatnonzero(dev(totals) > 0)
            if len(bad) == 0:
                break
            moved = False
            for p in bad[np.argsort(-dev(totals[bad]))]:
                nodes = np.flatnonzero(labels == p)
                nbr_nodes = self.adj[nodes].indices
                nbrs = np.unique(labels[nbr_nodes])
                nbrs = nbrs[nbrs != p]
                pair = totals[p] + totals[nbrs]
                for q in nbrs[np.argsort(np.abs(pair - (low + high)))]:
                    if 2 * low <= totals[p] + totals[q] <= 2 * high:
                        trial = self._resplit(labels, p, q, low, high)
                        if trial is not None:
                            labels, moved = trial, True
                            break
                if moved:
                    break
                labels, moved = self._move_one(labels, totals, p, nbrs, dev)
                if moved:
                    break
            if not moved:
                break
        return labels

    def _move_one(self, labels, totals, p, nbrs, dev):
        """Hand the border unit across p's edge that lowers the band deviation most."""
        over = totals[p] > (totals[nbrs].mean() if len(nbrs) else 0)
        src_parts = [p] if over else list(nbrs)
        best, best_gain = None, 1e-9
        for s in src_parts:
            src_nodes = np.flatnonzero(labels == s)
            if len(src_nodes) < 2:
                continue
            for v in src_nodes:
                nl = labels[self.adj[v].indices]
                dests = np.unique(nl[nl != s]) if over else ([p] if (nl == p).any() else [])
                for dst in dests:
                    w = self.weight[v]
                    gain = dev(totals[s]) + dev(totals[dst]) - dev(totals[s] - w) - dev(totals[dst] + w)
                    if gain > best_gain and self._connected_without(labels, s, np.array([v])):
                        best, best_gain = (v, dst), gain
        if best is None:
            return labels, False
        labels = labels.copy()
        labels[best[0]] = best[1]
        return labels, True


def tile(area: BaseGeometry, points: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """k grids tiling `area` from a label per unit (0..k-1): the union of each label's units'
    Voronoi cells clipped to the area (an imported assignment becomes geometry this way)."""
    pts = np.asarray(points, dtype=object)
    pieces, owner = _pieces(area, pts)
    graph = _Graph(pieces, owner, np.zeros(len(pts)), shapely.get_coordinates(pts))
    piece_labels = graph.attach_orphans(np.where(owner >= 0, np.asarray(labels)[np.maximum(owner, 0)], -1))
    return np.array([shapely.coverage_union_all(pieces[piece_labels == p]) for p in range(k)], dtype=object)
