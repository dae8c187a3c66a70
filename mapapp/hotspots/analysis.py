"""One Gi* hot spot run from the database to a FeatureCollection: study area and metric CRS,
cells, weights, statistics, and a `meta` object holding every choice, reason and warning.
No Flask; SQL only through mapapp.hotspots.queries."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, replace

import numpy as np
from sqlalchemy.engine import Connection

from mapapp.errors import ParamError, UserError
from mapapp.geo.crs import utm_crs_for
from mapapp.hotspots import h3cells, optimize, queries as q
from mapapp.hotspots.gistar import (BIN_LEVELS, GiStar, bh_qvalues, confidence_bins, distance_weights,
                                    gi_star, knn_weights, permutation_p)
from mapapp.hotspots.params import HotspotParams
from mapapp.incidents.filters import IncidentFilter

MAX_CELLS = 250_000
FEW_INCIDENTS = 30
FEW_CELLS = 30
SAMPLE_POINTS = 20_000
P_VALUES = ("two-sided p from the analytic normal z of Gi* (Ord & Getis 1995); q is the "
            "Benjamini-Hochberg FDR-adjusted p. Permutation p-values (permutations=) are an option: "
            "their smallest possible value, 1/(permutations+1), cannot pass FDR correction over many cells.")


class Meaningless(UserError):
    """The analysis would produce numbers without meaning; say why instead (422)."""
    code = "meaningless"
    status = 422


def study_area(conn: Connection, code: str | None) -> tuple[q.Area, int]:
    """The area (a district by default) and the EPSG code of its UTM zone."""
    area = q.area(conn, code)
    if area is None:
        raise ParamError(f"no admin area with code {code!r}" if code else "no district is loaded",
                         field="area")
    return area, utm_crs_for(area.lon, area.lat).to_epsg()


def cells_for(conn: Connection, f: IncidentFilter, p: HotspotParams, area: q.Area, srid: int,
           n_incidents: int, chosen: list[dict]) -> tuple[q.Cells, float | None]:
    if p.cells == "grid":
        cells = q.plan_cells(conn, f, area_code=area.code, srid=srid, plan=p.plan, weight=p.weight)
        if not cells.ids:
            raise ParamError(f"plan {p.plan!r} has no grids in area {area.code}", field="plan")
        return cells, None
    size = p.size
    if size is None and p.resolution is None:
        stride = max(1, math.ceil(n_incidents / SAMPLE_POINTS))
        xy = q.points(conn, f, area_code=area.code, srid=srid, stride=stride)
        nn = optimize.nearest_neighbour_distances(xy)
        choice = optimize.choose_cell_size(n_incidents, area.area_m2,
                                           float(nn.mean()) if len(nn) else 0.0,
                                           "square" if p.cells == "square" else "hex")
        size = choice.value
        chosen.append({"parameter": "size", "value": size, "reason": choice.reason})
    if p.cells == "h3":
        return h3_cells_for(conn, f, p, area, srid, size, chosen)
    cell_area = size * size * (1.5 * math.sqrt(3) if p.cells == "hex" else 1.0)
    if area.area_m2 / cell_area > MAX_CELLS:
        raise ParamError(f"size {size:g} m would make about {area.area_m2 / cell_area:,.0f} cells "
                         f"over {area.area_m2 / 1e6:.1f} km²; the limit is {MAX_CELLS:,}",
                         field="size")
    cells = q.lattice_cells(conn, f, area_code=area.code, srid=srid, shape=p.cells, size=size,
                            mask=p.mask, weight=p.weight)
    return cells, size


def permutation_caveat(permutations: int, n_cells: int, alpha: float) -> str:
    """What permutation p-values mean for FDR, in numbers: the smallest p and what BH needs."""
    return (f"p-values by {permutations} conditional permutations (as esda's p_sim): the smallest "
            f"possible p is 1/({permutations}+1) = {1 / (permutations + 1):.2g}. Benjamini-Hochberg "
            f"over {n_cells:,} cells needs p <= {alpha:g} x rank / {n_cells:,}, so with many cells few "
            "or none can pass FDR however strong the cluster; use the analytic p (the default) for FDR.")


def with_permutation_p(res: GiStar, y: np.ndarray, w, p: HotspotParams) -> GiStar:
    """The Gi* result with p (and q, bins) from conditional permutations; z stays analytic."""
    perm = permutation_p(y, w, p.permutations, seed=p.seed)
    q_values = bh_qvalues(perm)
    return replace(res, p=perm, q=q_values, bin=confidence_bins(res.z, q_values if p.fdr else perm))


def h3_cells_for(conn: Connection, f: IncidentFilter, p: HotspotParams, area: q.Area, srid: int,
                 size: float | None, chosen: list[dict]) -> tuple[q.Cells, float]:
    """H3 cells at the given resolution, or at the one whose edge is nearest the (chosen) size."""
    resolution = p.resolution
    if resolution is None:
        resolution = h3cells.resolution_for(size)
        chosen.append({"parameter": "resolution", "value": resolution, "reason": (
            f"H3 resolution {resolution}: average edge {h3cells.edge_length(resolution):.0f} m, "
            f"the nearest to {size:g} m")})
    if area.area_m2 / h3cells.cell_area(resolution) > MAX_CELLS:
        raise ParamError(f"resolution {resolution} would make about "
                         f"{area.area_m2 / h3cells.cell_area(resolution):,.0f} cells; the limit is "
                         f"{MAX_CELLS:,}", field="resolution" if p.resolution is not None else "size")
    cells = q.h3_cells(conn, f, area_code=area.code, srid=srid, resolution=resolution, mask=p.mask,
                       weight=p.weight)
    return cells, round(h3cells.edge_length(resolution), 1)


def weights_for(xy: np.ndarray, y: np.ndarray, p: HotspotParams, chosen: list[dict], meta: dict):
    n = len(xy)
    if p.k is not None:
        if p.k >= n:
            raise ParamError(f"k = {p.k} needs more than {p.k} cells; there are {n}", field="k")
        meta["weights"] = {"type": "knn", "k": p.k}
        return knn_weights(xy, p.k)
    distance = p.distance
    if distance is None and p.optimized:
        choice, profile = optimize.choose_distance(xy, y)
        distance = choice.value
        chosen.append({"parameter": "distance", "value": round(distance, 1), "reason": choice.reason})
        meta["autocorrelation"] = profile
    elif distance is None:
        distance = optimize.connecting_distance(xy) * 1.0001
        chosen.append({"parameter": "distance", "value": round(distance, 1), "reason": (
            f"distance band {distance:.0f} m: the smallest that gives every cell a neighbour")})
    meta["weights"] = {"type": "distance", "distance_m": round(distance, 1)}
    return distance_weights(xy, distance)


_FEATURE = ('{"type":"Feature","id":%s,"geometry":%s,"properties":{"count":%s,"z":%s,"p":%s,'
            '"q":%s,"bin":%d,"neighbours":%d,"significant":%s}}')


def _numbers(values: np.ndarray, digits: int) -> list[str]:
    """A column as JSON numbers rounded to `digits` decimals, null where not finite."""
    return ["null" if not math.isfinite(v) else repr(v)
            for v in np.round(np.asarray(values, dtype=float), digits).tolist()]


def features(cells: q.Cells, counts: list[str], res: GiStar, significant: np.ndarray) -> str:
    """The cells as GeoJSON features joined by commas: formatted column by column, because
    json.dumps per feature took a second for 40,000 cells."""
    return ",".join(_FEATURE % row for row in zip(
        map(json.dumps, cells.ids), cells.geometry, counts, _numbers(res.z, 6), _numbers(res.p, 8),
        _numbers(res.q, 8), res.bin.tolist(), res.neighbours.tolist(),
        np.where(significant, "true", "false").tolist()))


def run(conn: Connection, f: IncidentFilter, p: HotspotParams) -> str:
    """Gi* over the filtered incidents: the FeatureCollection as JSON text (built as text so a
    40,000-cell answer does not go through a dict of dicts)."""
    area, srid = study_area(conn, p.area)
    nothing = Meaningless(f"no incidents match the filter inside {area.name} ({area.code}); "
                          "widen the time range or the categories")
    # hex/square cells of a given size hold every unweighted incident of the area: their sum is
    # the count, so the million-row scan is not done twice
    counted_by_cells = p.cells != "grid" and p.size is not None and p.weight == "none"
    n_incidents = 0 if counted_by_cells else q.count(conn, f, area_code=area.code)
    if n_incidents == 0 and not counted_by_cells:
        raise nothing
    chosen: list[dict] = []
    meta: dict = {}
    cells, size = cells_for(conn, f, p, area, srid, n_incidents, chosen)
    if counted_by_cells:
        n_incidents = int(cells.count.sum())
        if n_incidents == 0:
            raise nothing
    n = len(cells.ids)
    if n < 3:
        raise Meaningless(f"only {n} cells; Gi* compares a cell with the rest and needs many. "
                          "Use smaller cells", field="size")
    y = cells.count
    if np.all(y == y[0]):
        raise Meaningless(f"all {n} cells hold the same count ({y[0]:g}); there is nothing to "
                          "compare. Use smaller cells or a longer period", field="size")
    xy = np.column_stack([cells.x, cells.y])
    w = weights_for(xy, y, p, chosen, meta)
    res = gi_star(y, w, fdr=p.fdr)
    if p.permutations:
        res = with_permutation_p(res, y, w, p)
    lonely = int((res.neighbours == 0).sum())
    if lonely == n:
        raise Meaningless("no cell has a neighbour within the distance band; use a larger "
                          "distance", field="distance")
    warnings = []
    if n_incidents < FEW_INCIDENTS:
        warnings.append({"code": "few_incidents", "message": (
            f"only {n_incidents} incidents (fewer than {FEW_INCIDENTS}); hot spots this thin "
            "are unreliable")})
    if n < FEW_CELLS:
        warnings.append({"code": "few_cells", "message": f"only {n} cells (fewer than {FEW_CELLS})"})
    if lonely:
        warnings.append({"code": "no_neighbours", "message": (
            f"{lonely} cells have no neighbour within the band; their z compares the cell "
            "with the mean alone"), "cells": lonely})
    if p.permutations and p.fdr:
        warnings.append({"code": "permutation_fdr", "message": permutation_caveat(p.permutations, n, p.alpha)})
    sig = res.q if p.fdr else res.p
    significant = sig < p.alpha
    meta.update({
        "method": "gistar", "cells": p.cells, "size_m": size, "plan": p.plan if p.cells == "grid" else None,
        "h3_resolution": h3cells.resolution_for(size) if p.cells == "h3" else None,
        "area": {"code": area.code, "name": area.name, "area_km2": round(area.area_m2 / 1e6, 3)},
        "crs": f"EPSG:{srid}", "mask": p.mask, "weight_field": p.weight, "optimized": p.optimized,
        "alpha": p.alpha, "fdr": p.fdr,
        "p_values": permutation_caveat(p.permutations, n, p.alpha) if p.permutations else P_VALUES,
        "permutations": p.permutations, "seed": p.seed if p.permutations else None,
        "bins": {str(sign * b): f"{'hot' if sign > 0 else 'cold'} spot, {100 * (1 - c):.0f} % confidence"
                 for b, c in BIN_LEVELS for sign in (1, -1)},
        "incidents": n_incidents, "cell_count": n, "zero_cells": int((y == 0).sum()),
        "mean_neighbours": round(float(res.neighbours.mean()), 2),
        "significant_hot": int((significant & (res.z > 0)).sum()),
        "significant_cold": int((significant & (res.z < 0)).sum()),
        "filter": {"since": f.since.isoformat() if f.since else None,
                   "until": f.until.isoformat() if f.until else None,
                   "categories": list(f.categories), "statuses": list(f.statuses)},
        "chosen": chosen, "warnings": warnings, "params": asdict(p)})
    counts = _numbers(y, 6) if p.weight == "weight" else [str(int(c)) for c in y.tolist()]
    body = features(cells, counts, res, significant)
    return ('{"type":"FeatureCollection","features":[' + body + '],"meta":'
            + json.dumps(meta, ensure_ascii=False) + "}")
