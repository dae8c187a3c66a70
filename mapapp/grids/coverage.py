"""Coverage check of a grid plan (管理无盲区): gaps, overlaps, grids crossing a community,
slivers, invalid geometries, detached parts, holes, base units not in exactly one grid.

Pure and vectorised over shapely 2 arrays. The overlay runs in the coordinates the plan is
stored in (lon/lat edges are straight there, so a clean tiling stays clean); areas are measured
after `PlanLayers.metric` projects a result to metres. Problems carry geometry and area (m²).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely

COLUMNS = ("kind", "grid", "other", "community", "unit", "area", "geom")
KINDS = ("invalid", "gap", "overlap", "outside", "crosses_community", "detached_part", "hole",
         "sliver", "unassigned_unit", "multiply_assigned_unit", "edge_mismatch")


@dataclass(frozen=True)
class PlanLayers:
    """A plan and its setting as parallel arrays in one CRS; `metric` projects to metres."""
    grid_codes: np.ndarray          # str, one per grid
    grid_geoms: np.ndarray          # shapely polygons/multipolygons
    grid_community: np.ndarray      # int community id per grid, -1 when none is set
    community_ids: np.ndarray       # int
    community_codes: np.ndarray     # str
    community_geoms: np.ndarray
    unit_ids: np.ndarray            # int
    unit_geoms: np.ndarray          # footprints or points
    unit_households: np.ndarray     # int
    metric: Callable[[np.ndarray], np.ndarray] | None = None  # None: already in metres

    def area(self, geoms: np.ndarray) -> np.ndarray:
        """Areas in square metres."""
        geoms = np.asarray(geoms, dtype=object)
        return shapely.area(self.metric(geoms) if self.metric is not None and len(geoms) else geoms)


@dataclass(frozen=True)
class CheckOptions:
    """tolerance_m2: areas below it are numerical noise; sliver_m2: a piece smaller than it is a sliver."""
    tolerance_m2: float = 1.0
    sliver_m2: float = 200.0
    edges: bool = False  # also report coverage_invalid_edges (lines where neighbours do not match)
    gap_width: float = 0.0  # with edges: gaps narrower than this (plan units) are mismatches; slow


@dataclass
class Problems:
    """Columns of one problem table; `grid`/`other` are the one or two grids involved."""
    cols: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in COLUMNS})

    measure: Callable[[np.ndarray], np.ndarray] = shapely.area

    def add(self, kind: str, geom: np.ndarray, grid=None, other=None, community=None,
            unit=None) -> None:
        geom = np.asarray(geom, dtype=object)
        n = len(geom)
        if n == 0:
            return
        given = {"kind": np.full(n, kind, dtype=object), "geom": geom, "area": self.measure(geom),
                 "grid": grid, "other": other, "community": community, "unit": unit}
        for c in COLUMNS:
            v = given[c]
            self.cols[c].append(np.full(n, None, dtype=object) if v is None else np.asarray(v))

    def table(self) -> dict[str, np.ndarray]:
        if not self.cols["kind"]:
            return {c: np.array([], dtype=float if c == "area" else object) for c in COLUMNS}
        return {c: np.concatenate([np.asarray(x, dtype=float if c == "area" else object)
                                   for x in self.cols[c]]) for c in COLUMNS}


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each wanted id in ids (-1 when absent)."""
    if len(ids) == 0:
        return np.full(len(wanted), -1)
    order = np.argsort(ids)
    at = np.clip(np.searchsorted(ids[order], wanted), 0, len(ids) - 1)
    return np.where(ids[order][at] == wanted, order[at], -1)


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Positions where a run of equal keys begins in a sorted array."""
    if len(sorted_keys) == 0:
        return np.array([], dtype=int)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def _parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts and the index of the geometry each came from (collections flattened)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    return parts[poly], idx[poly]


def _area_pieces(geoms: np.ndarray, owner: np.ndarray, tol: float,
                 measure: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Explode area results into polygons above the tolerance (m²), keeping their owner row."""
    parts, idx = _parts(geoms)
    keep = measure(parts) >= tol
    return parts[keep], owner[idx[keep]]


def _largest_overlap(geoms: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the target each geometry overlaps most (-1 when none)."""
    out = np.full(len(geoms), -1)
    if len(geoms) == 0 or len(targets) == 0:
        return out
    src, dst = shapely.STRtree(targets).query(geoms, predicate="intersects")
    if len(src) == 0:
        return out
    a = shapely.area(shapely.intersection(geoms[src], targets[dst]))
    order = np.lexsort((-a, src))
    first = order[_group_starts(src[order])]
    out[src[first]] = dst[first]
    return out


def check(layers: PlanLayers, opts: CheckOptions = CheckOptions()) -> tuple[dict, dict]:
    """Run every check; returns (problem columns, summary). No Python loop over features."""
    tol = opts.tolerance_m2
    codes = np.asarray(layers.grid_codes, dtype=object)
    raw = np.asarray(layers.grid_geoms, dtype=object)
    comm_geoms = np.asarray(layers.community_geoms, dtype=object)
    comm_codes = np.asarray(layers.community_codes, dtype=object)
    area = layers.area
    p = Problems(measure=area)

    valid = shapely.is_valid(raw)
    bad = np.flatnonzero(~valid)
    p.add("invalid", shapely.make_valid(raw[bad]), grid=codes[bad])
    geoms = raw.copy()
    geoms[bad] = shapely.make_valid(raw[bad])

    # detached parts: every polygon part except the largest of its grid
    parts, pidx = _parts(geoms)
    parea = area(parts)
    order = np.lexsort((-parea, pidx))
    largest = np.zeros(len(parts), dtype=bool)
    largest[order[_group_starts(pidx[order])]] = True
    det = np.flatnonzero(~largest & (parea >= tol))
    p.add("detached_part", parts[det], grid=codes[pidx[det]])
    n_parts = np.bincount(pidx[parea >= tol], minlength=len(geoms))

    # holes: interior rings of every part, as polygons
    rings, ridx = shapely.get_rings(parts, return_index=True)
    first_ring = np.zeros(len(rings), dtype=bool)
    first_ring[_group_starts(ridx)] = True
    holes = shapely.polygons(rings[~first_ring])
    hole_grid = pidx[ridx[~first_ring]]
    keep = area(holes) >= tol
    p.add("hole", holes[keep], grid=codes[hole_grid[keep]])

    # slivers: whole grids (or their parts) smaller than the sliver area
    sl = np.flatnonzero((parea < opts.sliver_m2) & (parea >= tol))
    p.add("sliver", parts[sl], grid=codes[pidx[sl]])

    # overlaps: pairs whose interiors meet in an area
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    inner = shapely.relate_pattern(geoms[a], geoms[b], "2********")
    a, b = a[inner], b[inner]
    ov, owner = _area_pieces(shapely.intersection(geoms[a], geoms[b]), np.arange(len(a)), tol, area)
    p.add("overlap", ov, grid=codes[a[owner]], other=codes[b[owner]])

    # union of the plan: the fast coverage union when the grids form a valid coverage
    clean = len(bad) == 0 and len(a) == 0 and bool(shapely.coverage_is_valid(geoms))
    covered = shapely.coverage_union_all(geoms) if clean else shapely.union_all(geoms)

    # gaps: community area no grid covers, one piece per community
    gaps = shapely.difference(comm_geoms, covered)
    gp, gown = _area_pieces(gaps, np.arange(len(comm_geoms)), tol, area)
    p.add("gap", gp, community=comm_codes[gown])

    # grids outside every community, and grids crossing out of their own community
    jurisdiction = shapely.union_all(comm_geoms)
    outside, oown = _area_pieces(shapely.difference(geoms, jurisdiction), np.arange(len(geoms)), tol, area)
    p.add("outside", outside, grid=codes[oown])
    gcomm = np.asarray(layers.grid_community)
    known = _positions(np.asarray(layers.community_ids), gcomm)
    home = known.copy()
    home[known < 0] = _largest_overlap(geoms[known < 0], comm_geoms)
    has = np.flatnonzero(home >= 0)
    beyond = shapely.intersection(shapely.difference(geoms[has], comm_geoms[home[has]]), jurisdiction)
    cp, cown = _area_pieces(beyond, has, tol, area)
    into = _largest_overlap(cp, comm_geoms)
    p.add("crosses_community", cp, grid=codes[cown],
          community=np.where(into >= 0, comm_codes[np.maximum(into, 0)], None))

    if opts.edges:
        edges = shapely.coverage_invalid_edges(geoms, gap_width=opts.gap_width)
        has_edge = ~shapely.is_empty(edges)
        p.add("edge_mismatch", edges[has_edge], grid=codes[has_edge])

    # base units: counted by their point on surface, so a footprint on a boundary counts once
    upts = shapely.point_on_surface(np.asarray(layers.unit_geoms, dtype=object))
    ui, gi = tree.query(upts, predicate="intersects")
    hits = np.bincount(ui, minlength=len(upts))
    uids = np.asarray(layers.unit_ids)
    zero, many = np.flatnonzero(hits == 0), np.flatnonzero(hits > 1)
    p.add("unassigned_unit", upts[zero], unit=uids[zero])
    first, second = _first_two(ui, gi, many)
    p.add("multiply_assigned_unit", upts[many], grid=codes[first], other=codes[second],
          unit=uids[many])

    hh = np.asarray(layers.unit_households, dtype=float)
    total_area = float(area(comm_geoms).sum())
    gap_area = float(area(gp).sum())
    table = p.table()
    counts = {k: int((table["kind"] == k).sum()) for k in KINDS}
    areas = {k: round(float(table["area"][table["kind"] == k].sum()), 1)
             for k in ("gap", "overlap", "outside", "crosses_community", "hole", "detached_part")}
    summary = {
        "grids": int(len(geoms)),
        "communities": int(len(comm_geoms)),
        "units": int(len(upts)),
        "problems": counts,
        "area_m2": areas,
        "jurisdiction_area_m2": round(total_area, 1),
        "area_covered_share": round(1 - gap_area / total_area, 6) if total_area else None,
        "households": int(hh.sum()),
        "households_covered_share": round(float(hh[hits >= 1].sum() / hh.sum()), 6) if hh.sum() else None,
        "contiguous_grids": int((n_parts <= 1).sum()),
        "valid_coverage": clean,
        "ok": all(counts[k] == 0 for k in KINDS),
    }
    return table, summary


def _first_two(ui: np.ndarray, gi: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each unit index in `which` (each hit at least twice), its two lowest grid indices."""
    sel = np.isin(ui, which)
    u, g = ui[sel], gi[sel]
    order = np.lexsort((g, u))
    u, g = u[order], g[order]
    starts = _group_starts(u)
    pos = np.searchsorted(u[starts], which)
    return g[starts[pos]], g[starts[pos] + 1]
