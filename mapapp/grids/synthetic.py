"""A SYNTHETIC lattice city for benchmarks and browser tests of the planner: square grids around
Helsinki in communities of 10 x 10, buildings in every grid and a dense street network."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

X0, Y0, DX, DY = 24.90, 60.15, 0.0036, 0.0018  # about 200 m x 200 m at 60 N


def lattice_city_files(tmp: Path, nx: int = 40, ny: int = 25, per_grid: int = 10) -> None:
    """areas, grids, units and streets .geojson in `tmp`: a district, a street, communities of
    10 x 10 grids (the last ones smaller), nx x ny grids of DX x DY (grid (i, j) is coded
    community code + i * ny + j in 3 digits), `per_grid` buildings of 30-50 households each."""
    rng = np.random.default_rng(7)
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    i, j = i.ravel(), j.ravel()
    comm = (i // 10) * ((ny + 9) // 10) + j // 10
    grids = shapely.box(X0 + i * DX, Y0 + j * DY, X0 + (i + 1) * DX, Y0 + (j + 1) * DY)
    ccodes = [f"910199001{c + 1:03d}" for c in range(comm.max() + 1)]
    cgeoms = [shapely.coverage_union_all(grids[comm == c]) for c in range(comm.max() + 1)]
    whole = shapely.box(X0, Y0, X0 + nx * DX, Y0 + ny * DY)
    areas = gpd.GeoDataFrame({"code": ["910199", "910199001"] + ccodes,
                              "name": ["Bench district", "Bench street"] + [f"Community {c}" for c in ccodes],
                              "level": ["district", "street"] + ["community"] * len(ccodes),
                              "parent_code": [None, "910199"] + ["910199001"] * len(ccodes)},
                             geometry=[whole, whole] + cgeoms, crs="EPSG:4326")
    areas.to_file(tmp / "areas.geojson")
    gpd.GeoDataFrame({"code": [f"{ccodes[c]}{k:03d}" for k, c in enumerate(comm)],
                      "name": [f"grid {k}" for k in range(len(grids))],
                      "community_code": [ccodes[c] for c in comm]},
                     geometry=list(grids), crs="EPSG:4326").to_file(tmp / "grids.geojson")
    u = np.repeat(np.arange(len(grids)), per_grid)
    pts = shapely.points(X0 + (i[u] + rng.uniform(0.1, 0.9, len(u))) * DX,
                         Y0 + (j[u] + rng.uniform(0.1, 0.9, len(u))) * DY)
    gpd.GeoDataFrame({"households": rng.integers(30, 51, len(u)), "kind": "building"},
                     geometry=list(shapely.buffer(pts, DY / 100)), crs="EPSG:4326").to_file(tmp / "units.geojson")
    # streets along every lattice line and one across the middle of every grid each way, a vertex
    # every tenth of a grid (as surveyed streets are: many short segments)
    t = np.linspace(0, 1, 11)
    lines = [shapely.linestrings(X0 + a * DX + 0 * t, Y0 + (b + t) * DY)
             for a in np.arange(0, nx + 0.5, 0.5) for b in range(ny)]
    lines += [shapely.linestrings(X0 + (a + t) * DX, Y0 + b * DY + 0 * t)
              for b in np.arange(0, ny + 0.5, 0.5) for a in range(nx)]
    gpd.GeoDataFrame({"name": [f"street {k}" for k in range(len(lines))], "class": "residential"},
                     geometry=lines, crs="EPSG:4326").to_file(tmp / "streets.geojson")
