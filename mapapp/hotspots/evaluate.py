"""One backtest run: train on [since, split), test on [split, until); Gi*, KDE, the naive
"last period's counts" and prospective hot spotting scored by hit rate, PAI and PEI* at 1, 5,
10 and 20 % of the area. No Flask; SQL only in queries.py."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from sqlalchemy.engine import Connection

from mapapp.errors import ParamError
from mapapp.hotspots import backtest, queries as q
from mapapp.hotspots.analysis import Meaningless, cells_for, study_area, weights_for
from mapapp.hotspots.params import BacktestParams
from mapapp.incidents.filters import IncidentFilter

WEEK = 7 * 86400


def run(conn: Connection, f: IncidentFilter, bp: BacktestParams,
        progress: Callable[[str], None] = lambda _: None) -> dict:
    """Scores of each method at each coverage, and what every method was given; `progress` is
    told each stage (the CLI prints them)."""
    p, split = bp.hotspot, bp.split
    if not (f.since < split < f.until):
        raise ParamError("split must lie between since and until", field="split")
    train_f, test_f = replace(f, until=split), replace(f, since=split)
    recent_f = replace(f, since=max(f.since, split - (f.until - split)), until=split)
    area, srid = study_area(conn, p.area)
    progress(f"counting training and test incidents in {area.name}")
    n_train = q.count(conn, train_f, area_code=area.code)
    n_test = q.count(conn, test_f, area_code=area.code)
    if n_train == 0 or n_test == 0:
        raise Meaningless(f"{n_train} training and {n_test} test incidents; both periods need some",
                          field="split")
    chosen: list[dict] = []
    meta: dict = {}
    progress(f"{n_train:,} training and {n_test:,} test incidents; counting them into cells")
    train, size = cells_for(conn, train_f, p, area, srid, n_train, chosen)
    p = replace(p, size=size)
    kw = dict(area_code=area.code, srid=srid, shape=p.cells, size=size, mask=p.mask, weight=p.weight)
    test = q.lattice_cells(conn, test_f, **kw, outlines=False).count
    recent = q.lattice_cells(conn, recent_f, **kw, outlines=False).count
    xy = np.column_stack([train.x, train.y])
    w = weights_for(xy, train.count, p, chosen, meta)
    band = meta["weights"].get("distance_m") or 2 * size
    steps = max(1, math.ceil((split - f.since).total_seconds() / WEEK))
    progress(f"{len(train.ids):,} cells; weekly cube of {steps} weeks for prospective hot spotting")
    cube = q.lattice_cube(conn, train_f, area_code=area.code, srid=srid, shape=p.cells, size=size,
                          step="week", start=f.since, steps=steps, ids=train.ids, weight=p.weight)
    spacing = size * math.sqrt(3) if p.cells == "hex" else size
    scores = {"gistar": backtest.gistar_score(train.count, w),
              "kde": backtest.kde_score(xy, train.count, band),
              "naive": recent,
              "prospective": backtest.prospective_score(xy, cube, spacing, band)}
    progress("scoring Gi*, KDE, last-period counts and prospective hot spotting")
    results = {name: backtest.scores_at(s, test) for name, s in scores.items()}
    meta.update({"area": {"code": area.code, "name": area.name}, "crs": f"EPSG:{srid}",
                 "cells": p.cells, "size_m": size, "cell_count": len(train.ids),
                 "train": {"since": f.since.isoformat(), "until": split.isoformat(), "incidents": n_train},
                 "test": {"since": split.isoformat(), "until": f.until.isoformat(), "incidents": n_test},
                 "methods": {"gistar": "Gi* z of training counts",
                             "kde": f"Gaussian kernel density of training counts, bandwidth {band:.0f} m",
                             "naive": f"counts of the last {(split - recent_f.since).days} days before split",
                             "prospective": f"weekly events, weight 1/(1 + cells away) x 1/(1 + weeks ago) "
                                            f"within {band:.0f} m"},
                 "chosen": chosen,
                 "scores": "hit rate = test incidents in flagged cells / all test incidents; PAI = hit "
                           "rate / area share; PEI* = hits / the most any equally large selection caught"})
    curves = {name: backtest.curve(s, test) for name, s in scores.items()}
    return {"results": results, "curves": curves, "meta": meta}
