"""The `mapapp` command."""
from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from pathlib import Path

import click

from mapapp.errors import UserError
from mapapp.settings import Settings

LAYERS = ("admin_areas", "grids", "base_units", "incidents", "key_places", "streets")
PROGRESS_MIN_ROWS = 5000


def _settings() -> Settings:
    return Settings.from_env()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return f"uid{os.getuid()}"


def _engine(owner: bool = False):
    """The database as the app role, naming `cli:<os user>` to the audit trail; owner=True for
    migrations (the tables' owner)."""
    from mapapp.db.session import DatabaseError, check_postgis, get_engine

    try:
        engine = get_engine(_settings(), actor=f"cli:{_os_user()}", owner=owner)
        check_postgis(engine)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc
    return engine


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group()
def main() -> None:
    """mapapp: grid-based city management (网格化管理) over PostGIS."""


# --- database ----------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The embedded PostgreSQL/PostGIS cluster (used when DATABASE_URL is not set)."""


def _cluster():
    from mapapp.db.embedded import cluster

    s = _settings()
    if s.database_url:
        raise click.ClickException("DATABASE_URL is set: mapapp uses that server, not its own cluster")
    return cluster(s.home)


@db.command("start")
def db_start() -> None:
    """Initialise (first time) and start the local cluster."""
    from mapapp.db.embedded import EmbeddedError

    c = _cluster()
    try:
        started = c.start()
    except EmbeddedError as exc:
        raise _fail(exc) from exc
    click.echo(f"database {'started' if started else 'already running'}: {c.socketdir}")
    if c.lacks_server_malloc():
        click.echo("note: the server was started without its memory settings (SERVER_MALLOC in "
                   "mapapp/db/embedded.py); `mapapp db stop` and `mapapp db start` apply them")


@db.command("stop")
def db_stop() -> None:
    """Stop the local cluster."""
    c = _cluster()
    click.echo("database stopped" if c.stop() else "database was not running")


@db.command("status")
def db_status() -> None:
    """Print the local cluster's state as JSON; exit 1 when it is not running."""
    st = _cluster().status()
    click.echo(json.dumps(st, indent=2))
    sys.exit(0 if st["running"] else 1)


@db.command("migrate")
def db_migrate() -> None:
    """Apply database migrations (Alembic) up to the latest."""
    from mapapp.db.migrate import current, upgrade

    engine = _engine(owner=True)
    upgrade(engine)
    click.echo(f"schema at revision {current(engine)}")


# --- users -------------------------------------------------------------------------------------
@main.group()
def user() -> None:
    """Users and roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "dispatcher", "planner",
                                                           "patrol_lead", "admin"]))
@click.option("--password", envvar="MAPAPP_NEW_PASSWORD", help="default: asked for, or random and printed")
def user_add(name: str, role: str, password: str | None) -> None:
    """Add a user with a role."""
    from mapapp.accounts.queries import add_user

    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    try:
        with _engine().begin() as conn:
            add_user(conn, name, role, password)
    except UserError as exc:
        raise _fail(exc) from exc
    click.echo(f"user {name} added with role {role}")
    if generated:
        click.echo(f"password (shown once): {password}")


@main.group()
def token() -> None:
    """API tokens (sent as `Authorization: Bearer ...`)."""


@token.command("create")
@click.argument("name")
@click.option("--label", default="api", help="what the token is for")
def token_create(name: str, label: str) -> None:
    """Create an API token for user NAME and print it (only once)."""
    from mapapp.accounts.queries import create_token

    try:
        with _engine().begin() as conn:
            tok = create_token(conn, name, label)
    except UserError as exc:
        raise _fail(exc) from exc
    click.echo(tok)


@token.command("list")
@click.option("--user", "user_name", default=None, help="only this user's tokens")
def token_list(user_name: str | None) -> None:
    """List API tokens (id, user, label, last use, revoked); never the secret itself."""
    from mapapp.accounts.queries import list_tokens

    with _engine().connect() as conn:
        for t in list_tokens(conn, user_name):
            used = t["last_used_at"].isoformat(timespec="minutes") if t["last_used_at"] else "never"
            state = "revoked" if t["revoked"] else "live"
            click.echo(f"{t['id']}\t{t['user']}\t{t['label']}\tlast used {used}\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke API token TOKEN_ID (see `mapapp token list`): it stops working at once."""
    from mapapp.accounts.queries import revoke_token

    try:
        with _engine().begin() as conn:
            revoke_token(conn, token_id)
    except UserError as exc:
        raise _fail(exc) from exc
    click.echo(f"token {token_id} revoked")


# --- import / export ---------------------------------------------------------------------------
def _progress_bar(label: str):
    state: dict = {}

    def progress(done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        if "bar" not in state:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
            state["done"] = 0
        state["bar"].update(done - state["done"])
        state["done"] = done
        if done >= total:
            state["bar"].__exit__(None, None, None)

    return progress


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"expected column=field, got {v!r}", param_hint=option)
        k, _, val = v.partition("=")
        out[k.strip()] = val.strip()
    return out


@main.command("import")
@click.argument("layer", type=click.Choice(LAYERS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", help="source CRS when the file has none or has it wrong, e.g. EPSG:2263")
@click.option("--datum", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84",
              show_default=True, help="datum of lon/lat coordinates (Chinese web maps use gcj02/bd09)")
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD",
              help="take mapapp column COLUMN from the file's FIELD")
@click.option("--set", "constants", multiple=True, metavar="COLUMN=VALUE",
              help="give every row COLUMN=VALUE (e.g. --set category=public_order)")
@click.option("--layer", "gpkg_layer", help="layer inside a GeoPackage")
@click.option("--skip-bad", is_flag=True, help="load the good rows and write rejects to a file")
@click.option("--rejects", "rejects_path", type=click.Path(path_type=Path),
              help="where --skip-bad writes the rejected rows (CSV)")
@click.option("--plan", help="grids: the plan to load into (created as a draft if new)")
@click.option("--publish", is_flag=True, help="grids: publish the plan (archives the previous one)")
def import_cmd(layer, file, crs, datum, mapping, constants, gpkg_layer, skip_bad, rejects_path,
               plan, publish) -> None:
    """Import FILE (GeoJSON, GeoPackage, Shapefile or zipped Shapefile, CSV with lon/lat) into LAYER.

    All or nothing: one bad row loads nothing and names the row, unless --skip-bad."""
    from mapapp.io.store import ImportRejected, import_file

    try:
        report = import_file(_engine(), layer, file, crs=crs, datum=datum,
                             mapping=_pairs(mapping, "--map"), constants=_pairs(constants, "--set"),
                             skip_bad=skip_bad, rejects_path=rejects_path, gpkg_layer=gpkg_layer,
                             plan=plan, publish=publish, progress=_progress_bar(f"importing {layer}"))
    except ImportRejected as exc:
        raise click.ClickException(f"nothing was imported:\n{exc}") from exc
    except (UserError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    click.echo(f"{report.loaded} {layer} imported from {file} ({report.read} read, "
               f"{report.rejected} rejected)")
    for note in report.notes:
        click.echo(f"  note: {note}")
    if report.rejected:
        click.echo(f"  rejected rows written to {report.rejects_path}")


@main.command("export")
@click.argument("layer", type=click.Choice(LAYERS))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_cmd(layer: str, file: Path) -> None:
    """Write LAYER to FILE (.geojson or .gpkg)."""
    from mapapp.io.store import export_layer

    try:
        n = export_layer(_engine(), layer, file)
    except (UserError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    click.echo(f"{n} {layer} written to {file}")


# --- plan --------------------------------------------------------------------------------------
@main.group()
def plan() -> None:
    """Grid plans: coverage check, automatic redistricting, export, publish."""


@plan.command("check")
@click.argument("plan_id", type=int)
@click.option("--sliver-m2", type=float, default=200.0, show_default=True)
def plan_check_cmd(plan_id: int, sliver_m2: float) -> None:
    """Print the coverage check of plan PLAN_ID as JSON; exit 1 when it finds problems."""
    from mapapp.grids import plan_check
    from mapapp.grids.coverage import CheckOptions

    with _engine().connect() as conn:
        result = plan_check.run(conn, plan_id, CheckOptions(sliver_m2=sliver_m2))
    click.echo(json.dumps({"summary": result["summary"],
                           "problems": [f["properties"] for f in result["features"]]}, ensure_ascii=False))
    if not result["summary"]["ok"]:
        sys.exit(1)


@plan.command("export")
@click.argument("plan_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def plan_export_cmd(plan_id: int, file: Path) -> None:
    """Write plan PLAN_ID to FILE: .geojson, .gpkg, .shp, .csv (unit_id, grid_code) or .evaluation.json."""
    from mapapp.grids.plan_export import export

    try:
        with _engine().connect() as conn:
            n = export(conn, plan_id, file)
    except (UserError, OSError) as exc:
        raise _fail(exc) from exc
    click.echo(f"{n} rows of plan {plan_id} written to {file}")


@plan.command("auto")
@click.argument("plan_id", type=int)
@click.option("--name", required=True, help="name of the new draft")
@click.option("--band", nargs=2, type=float, default=(300.0, 500.0), show_default=True,
              help="households per grid: LOW HIGH")
@click.option("--keep-locked/--no-keep-locked", default=True, show_default=True)
@click.option("--minimise-disruption/--no-minimise-disruption", default=False, show_default=True,
              help="keep every current grid already in band; rebuild only the rest")
@click.option("--follow-streets/--no-follow-streets", default=False, show_default=True,
              help="build grids from street blocks so their boundaries run along streets")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="seconds")
def plan_auto_cmd(plan_id: int, name: str, band: tuple[float, float], keep_locked: bool,
                  minimise_disruption: bool, follow_streets: bool, time_limit: float) -> None:
    """Redistrict plan PLAN_ID into a new draft (per community, from base units); prints the report."""
    from mapapp.grids import auto_plan
    from mapapp.grids import queries as gq

    try:
        low, high, options = auto_plan.parse_options({
            "band": list(band), "time_limit": time_limit, "keep_locked": keep_locked,
            "minimise_disruption": minimise_disruption, "follow_streets": follow_streets})
    except UserError as exc:
        raise click.BadParameter(str(exc), param_hint="--" + exc.field.replace("_", "-")) from None
    with click.progressbar(length=1, label="redistricting communities", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)
        try:
            with _engine().begin() as conn:
                if gq.plan(conn, plan_id) is None:
                    raise UserError(f"no grid plan {plan_id}", field="plan")
                if gq.plan_name_taken(conn, name):
                    raise UserError(f"a plan named {name!r} exists", field="name")
                out = auto_plan.run(conn, plan_id, name, low, high, options, progress=progress)
        except UserError as exc:
            raise _fail(exc) from exc
    click.echo(json.dumps(out, ensure_ascii=False))


@plan.command("publish")
@click.argument("plan_id", type=int)
@click.option("--note", default=None)
def plan_publish_cmd(plan_id: int, note: str | None) -> None:
    """Publish plan PLAN_ID through the gate; prints what fails and exits 1 otherwise."""
    from mapapp.grids import plans
    from mapapp.grids import queries as gq

    with _engine().begin() as conn:
        failures = plans.gate(conn, plan_id)
        if failures:
            click.echo(json.dumps(failures, ensure_ascii=False), err=True)
            raise click.ClickException(f"{len(failures)} check(s) fail; plan {plan_id} not published")
        replaced = gq.publish(conn, plan_id, os.environ.get("USER"), note)
    click.echo(f"plan {plan_id} published (replaces {replaced})")


# --- patrol ------------------------------------------------------------------------------------
@main.group()
def patrol() -> None:
    """Patrol routes on the street network (pgRouting)."""


@patrol.command("network")
def patrol_network() -> None:
    """Rebuild the routable street network from the streets layer and report disconnected pieces."""
    import time

    from mapapp.patrol.queries import rebuild_network

    started = time.monotonic()

    def progress(step: str, done: int, total: int) -> None:
        click.echo(f"  [{done}/{total}] {step} ({time.monotonic() - started:.1f} s)", err=True)

    with _engine().begin() as conn:
        report = rebuild_network(conn, progress=progress)
    click.echo(f"{report['edges']} edges, {report['vertices']} vertices from {report['streets']} streets")
    for mode, info in report["modes"].items():
        pieces = info["disconnected"]
        click.echo(f"  {mode}: {info['components']} connected pieces, the largest has "
                   f"{info['main_vertices']} vertices")
        for p in pieces[:10]:
            click.echo(f"    disconnected: {p['vertices']} vertices near {p['lon']}, {p['lat']}")
        if len(pieces) > 10:
            click.echo(f"    … and {len(pieces) - 10} more")


# --- hotspots ----------------------------------------------------------------------------------
@main.group()
def hotspots() -> None:
    """Hot spot analysis of incidents (Getis-Ord Gi* with FDR, DBSCAN clusters)."""


def _hotspot_args(options: dict) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in options.items() if v is not None}


def _write_features(fc: dict, out: Path) -> None:
    """GeoJSON as is, or a GeoPackage layer (the meta goes beside it as OUT.meta.json)."""
    if out.suffix.lower() == ".gpkg":
        import geopandas as gpd

        gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326").to_file(out, driver="GPKG")
        out.with_suffix(".meta.json").write_text(json.dumps(fc["meta"], ensure_ascii=False, indent=1))
    elif out.suffix.lower() in (".geojson", ".json"):
        out.write_text(json.dumps(fc, ensure_ascii=False))
    else:
        raise click.ClickException(f"{out}: write .geojson or .gpkg")


@hotspots.command("gistar")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--area", help="admin area code (default: the first district)")
@click.option("--cells", type=click.Choice(["hex", "square", "grid", "h3"]), default="hex", show_default=True)
@click.option("--size", type=float, help="cell size in metres (default: chosen and explained)")
@click.option("--resolution", type=int, help="H3 resolution 0-15 (with --cells h3)")
@click.option("--permutations", type=int,
              help="p-values by this many conditional permutations (99-9999) instead of the analytic "
                   "p; their smallest p is 1/(permutations+1), too large to pass FDR over many cells")
@click.option("--seed", type=int, help="random seed of the permutations (default 0)")
@click.option("--k", type=int, help="k nearest neighbours instead of a distance band")
@click.option("--distance", type=float, help="distance band in metres")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--fdr/--no-fdr", default=True, show_default=True)
@click.option("--optimized", is_flag=True, help="choose size and band by incremental autocorrelation")
@click.option("--since", help="ISO date/time or a span such as 30d")
@click.option("--until")
@click.option("--category", help="comma-separated category codes")
def hotspots_gistar(out: Path, **options) -> None:
    """Gi* hot spots of the incidents to OUT (.geojson or .gpkg), with every choice printed."""
    from mapapp.hotspots import analysis, params

    args = _hotspot_args(options)
    try:
        p = params.parse(args)
        f = _hotspot_filter(args)
        click.echo("computing Gi* ...", err=True)
        with _engine().connect() as conn:
            fc = json.loads(analysis.run(conn, f, p))
        _write_features(fc, out)
    except (UserError, OSError) as exc:
        raise _fail(exc) from exc
    meta = fc["meta"]
    for c in meta["chosen"]:
        click.echo(f"  chosen: {c['reason']}", err=True)
    for w in meta["warnings"]:
        click.echo(f"  warning: {w['message']}", err=True)
    click.echo(f"{meta['cell_count']} cells from {meta['incidents']} incidents: "
               f"{meta['significant_hot']} hot and {meta['significant_cold']} cold cells significant "
               f"(alpha {meta['alpha']}, FDR {'on' if meta['fdr'] else 'off'}) written to {out}")


def _hotspot_filter(args: dict[str, str]):
    from mapapp.hotspots import params
    from mapapp.incidents import filters, taxonomy

    return filters.parse({k: v for k, v in args.items() if k in params.FILTER_KEYS},
                         taxonomy.load(_settings().taxonomy_path))


def _stage_printer():
    """A progress callback printing each stage with the seconds since the start (to stderr)."""
    import time

    started = time.monotonic()
    return lambda stage: click.echo(f"  [{time.monotonic() - started:5.1f} s] {stage} ...", err=True)


@hotspots.command("clusters")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--area", help="admin area code (default: the first district)")
@click.option("--eps", type=float, help="DBSCAN neighbourhood in metres (default 100)")
@click.option("--minpoints", type=int, help="incidents a core point needs (default 5)")
@click.option("--since", help="ISO date/time or a span such as 30d")
@click.option("--until")
@click.option("--category", help="comma-separated category codes")
def hotspots_clusters(out: Path, **options) -> None:
    """ST_ClusterDBSCAN clusters of the incidents to OUT (.geojson or .gpkg): hull, count, dominant category."""
    from mapapp.hotspots import clusters, params

    args = _hotspot_args(options)
    progress = _stage_printer()
    try:
        p = params.parse_clusters(args)
        f = _hotspot_filter(args)
        progress(f"DBSCAN (eps {p.eps:g} m, minpoints {p.minpoints}) in PostGIS")
        with _engine().connect() as conn:
            fc = clusters.clusters(conn, f, p)
        _write_features(fc, out)
    except (UserError, OSError) as exc:
        raise _fail(exc) from exc
    meta = fc["meta"]
    for feat in fc["features"][:5]:
        props = feat["properties"]
        click.echo(f"  cluster {props['cluster']}: {props['count']} incidents, mostly "
                   f"{props['dominant_category']} ({props['dominant_share']:.0%})", err=True)
    click.echo(f"{meta['clusters']} clusters holding {meta['clustered']} incidents, {meta['noise']} noise, "
               f"written to {out}")


@hotspots.command("emerging")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", required=True, help="start of the space-time cube (ISO date/time or a span such as 90d)")
@click.option("--until", help="end of the cube (default: now)")
@click.option("--step", type=click.Choice(["day", "week", "month"]), default="week", show_default=True)
@click.option("--area", help="admin area code (default: the first district)")
@click.option("--cells", type=click.Choice(["hex", "square"]), default="hex", show_default=True)
@click.option("--size", type=float, help="cell size in metres (default: chosen and explained)")
@click.option("--distance", type=float, help="distance band in metres")
@click.option("--category", help="comma-separated category codes")
def hotspots_emerging(out: Path, **options) -> None:
    """Emerging hot spots (Gi* per step, Mann-Kendall, Esri's 17 categories) to OUT (.geojson or .gpkg)."""
    from mapapp.hotspots import params, trends

    args = _hotspot_args(options)
    progress = _stage_printer()
    try:
        p = params.parse_emerging(args)
        f = _hotspot_filter(args)
        with _engine().connect() as conn:
            fc = trends.run(conn, f, p, progress=progress)
        _write_features(fc, out)
    except (UserError, OSError) as exc:
        raise _fail(exc) from exc
    meta = fc["meta"]
    for w in meta["warnings"]:
        click.echo(f"  warning: {w['message']}", err=True)
    counts = ", ".join(f"{name} {n}" for name, n in sorted(meta["categories"].items(), key=lambda kv: -kv[1]))
    click.echo(f"{len(fc['features'])} cells over {meta['steps']} {meta['step']}s: {counts}; written to {out}")


@hotspots.command("backtest")
@click.option("--since", required=True, help="start of training (ISO date/time or a span such as 120d)")
@click.option("--split", required=True, help="end of training, start of the test period")
@click.option("--until", required=True, help="end of the test period")
@click.option("--area", help="admin area code (default: the first district)")
@click.option("--cells", type=click.Choice(["hex", "square"]), default="hex", show_default=True)
@click.option("--size", type=float, help="cell size in metres (default: chosen and explained)")
@click.option("--category", help="comma-separated category codes")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the scores and curves as JSON here")
def hotspots_backtest(json_out: Path | None, **options) -> None:
    """Train on since-split, test on split-until: hit rate, PAI and PEI* of each method at 1/5/10/20 % of the area."""
    from mapapp.hotspots import evaluate, params
    from mapapp.incidents.filters import parse_time

    args = _hotspot_args(options)
    progress = _stage_printer()
    try:
        p = params.parse_backtest(args, parse_time(args["split"], "split"))
        f = _hotspot_filter(args)
        with _engine().connect() as conn:
            result = evaluate.run(conn, f, p, progress=progress)
        if json_out:
            json_out.write_text(json.dumps(result, ensure_ascii=False))
    except (UserError, OSError) as exc:
        raise _fail(exc) from exc
    meta = result["meta"]
    click.echo(f"train {meta['train']['incidents']} incidents, test {meta['test']['incidents']}, "
               f"{meta['cell_count']} cells of {meta['size_m']:g} m")
    coverages = [row["coverage"] for row in result["results"]["gistar"]]
    click.echo(f"{'method':<12}" + "".join(f"{f'{c:.0%} hit/PAI/PEI*':>24}" for c in coverages))
    for name, rows in result["results"].items():
        click.echo(f"{name:<12}" + "".join(
            f"{row['hit_rate']:>10.1%} {row['pai']:>6.2f} {row['pei_star']:>6.2f}" for row in rows))


# --- sample data, demo, serve ------------------------------------------------------------------
@main.command("load-sample")
@click.option("--city", "cities", multiple=True, type=click.Choice(["helsinki", "mesa"]),
              help="default: all sample cities")
def load_sample(cities: tuple[str, ...]) -> None:
    """Load the bundled sample cities (skips a city that is already loaded)."""
    from mapapp import sample

    engine = _engine()
    for city in cities or tuple(sample.CITIES):
        if sample.loaded(engine, city):
            click.echo(f"{city}: already loaded")
            continue
        try:
            sample.load(engine, city, progress=_progress_bar(f"{city} incidents"), echo=click.echo)
        except Exception as exc:  # noqa: BLE001 - the importer's errors name the row already
            raise _fail(exc) from exc


def ensure_admin(engine) -> None:
    """Create user `admin` once: MAPAPP_ADMIN_PASSWORD, or a random password printed once."""
    from mapapp.accounts.queries import add_user, user_exists

    with engine.begin() as conn:
        if user_exists(conn, "admin"):
            return
        password = os.environ.get("MAPAPP_ADMIN_PASSWORD")
        add_user(conn, "admin", "admin", password or (generated := secrets.token_urlsafe(12)))
    if password:
        click.echo("created user admin with the password from MAPAPP_ADMIN_PASSWORD")
    else:
        click.echo(f"created user admin; password (shown once): {generated}")


@main.command("serve")
@click.option("--port", type=int, envvar="MAPAPP_PORT", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", type=int, envvar="MAPAPP_WORKERS", default=lambda: 2 * (os.cpu_count() or 1),
              show_default="2 x cores", help="gunicorn worker processes")
@click.option("--threads", type=int, default=4, show_default=True, help="threads per worker")
def serve(port: int, host: str, workers: int, threads: int) -> None:
    """Serve the web app with gunicorn (several processes, each with its own database pool)."""
    from gunicorn.app.base import BaseApplication

    from mapapp import create_app
    from mapapp.db.session import DatabaseError
    from mapapp.web.setup import ext

    try:
        app = create_app(_settings())
    except DatabaseError as exc:
        raise _fail(exc) from exc

    def post_fork(server, worker) -> None:
        ext(app)["engine"].dispose(close=False)  # connections opened before the fork stay the parent's

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "preload_app": True, "post_fork": post_fork,
                               "graceful_timeout": 10, "forwarded_allow_ips": "127.0.0.1"}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    click.echo(f"mapapp on http://{host}:{port}/ ({workers} workers x {threads} threads)")
    Server().run()


@main.command("demo")
@click.option("--port", type=int, envvar="MAPAPP_PORT", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="set up only")
@click.pass_context
def demo(ctx, port: int, no_serve: bool) -> None:
    """Start the database, migrate, load the sample cities, create admin, and serve the map."""
    from mapapp.db.migrate import upgrade

    if not _settings().database_url:
        ctx.invoke(db_start)
    upgrade(_engine(owner=True))
    ctx.invoke(load_sample, cities=())
    ensure_admin(_engine())
    if not no_serve:
        ctx.invoke(serve, port=port, host="127.0.0.1")


if __name__ == "__main__":
    main()
