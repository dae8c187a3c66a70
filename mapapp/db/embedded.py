"""The local PostgreSQL + PostGIS + pgRouting cluster that mapapp runs when no DATABASE_URL is set.

It lives in MAPAPP_HOME (default ./var): data in pgdata/, a Unix socket in run/ (no TCP port),
the server log in log/. PostgreSQL refuses to run as root, so when we are root the server runs
as the unprivileged system user ``mapapp-db``. The cluster's superuser ``mapapp`` owns the databases
and runs the migrations; the app logs in as ``mapapp_app`` (mapapp.db.roles), which owns nothing.
"""
from __future__ import annotations

import re
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mapapp.db import roles

DB_USER = "mapapp"  # the cluster's superuser: owns the tables, runs the migrations
DB_NAME = "mapapp"
SYSTEM_USER = "mapapp-db"
PORT = 5432  # only names the socket file; the server listens on no TCP address
PG_VERSION = "15"
# glibc malloc for the server's processes (every backend inherits the postmaster's): memory under
# 8 MB a chunk is taken from the heap, and up to 16 MB freed at its top is kept instead of given
# back. With glibc's defaults a backend could give back what a dense tile had used and fault it in
# again on the next one: ~1,500 minor page faults, about 4 ms of a 15 ms z17 tile (counted with
# /proc/<pid>/stat around tile requests, 2026-11-24; README, Benchmarks). The cost: a backend may
# hold up to 16 MB it is not using. Settings already in the environment win.
SERVER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(8 << 20), "MALLOC_TRIM_THRESHOLD_": str(16 << 20)}


class EmbeddedError(RuntimeError):
    """A problem with the local cluster that a person can fix; the message says how."""


def _bindir() -> Path:
    candidates = [Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    for c in candidates:
        if (c / "pg_ctl").exists() and (c / "initdb").exists():
            return c
    raise EmbeddedError(
        "PostgreSQL 15 server programs not found. Install them with:\n"
        "  sudo apt-get install -y postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting"
    )


def _check_extensions_installed() -> None:
    share = Path(f"/usr/share/postgresql/{PG_VERSION}/extension")
    missing = [pkg for ext, pkg in (("postgis", "postgresql-15-postgis-3"),
                                     ("pgrouting", "postgresql-15-pgrouting"))
               if not (share / f"{ext}.control").exists()]
    if missing:
        raise EmbeddedError("PostGIS/pgRouting are not installed. Run:\n"
                            f"  sudo apt-get install -y {' '.join(missing)}")


@dataclass(frozen=True)
class Cluster:
    home: Path

    @property
    def datadir(self) -> Path:
        return self.home / "pgdata"

    @property
    def socketdir(self) -> Path:
        return self.home / "run"

    @property
    def logfile(self) -> Path:
        return self.home / "log" / "postgresql.log"

    def url(self, dbname: str = DB_NAME, role: str = DB_USER) -> str:
        """The URL of a database as the owner (migrations, set-up) or, with role=APP_ROLE, as the app."""
        return f"postgresql+psycopg://{role}@/{dbname}?host={self.socketdir}&port={PORT}"

    def app_url(self, dbname: str = DB_NAME) -> str:
        return self.url(dbname, roles.APP_ROLE)

    # --- running commands as the server's user ------------------------------------------
    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", SYSTEM_USER, "--", *argv]

    def _run(self, argv: list[str], check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self._as_server_user(argv), capture_output=True, text=True, env=env)
        if check and proc.returncode != 0:
            raise EmbeddedError(f"{' '.join(argv[:2])} failed:\n{proc.stderr or proc.stdout}")
        return proc

    def _ensure_system_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            SYSTEM_USER], check=True)
        owner = pwd.getpwnam(SYSTEM_USER)
        for d in (self.datadir, self.socketdir, self.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, owner.pw_uid, owner.pw_gid)
        # the server user must be able to reach MAPAPP_HOME through its parents
        for parent in [self.home, *self.home.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)

    # --- lifecycle ----------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created."""
        _check_extensions_installed()
        if self.initialised():
            return False
        bindir = _bindir()
        self.home.mkdir(parents=True, exist_ok=True)
        for d in (self.datadir, self.socketdir, self.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)
        self._ensure_system_user()
        self._run([str(bindir / "initdb"), "-D", str(self.datadir), "-U", DB_USER,
                   "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"])
        conf = self.datadir / "postgresql.conf"
        with open(conf, "a") as f:
            f.write(
                "\n# mapapp embedded cluster: Unix socket only\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socketdir}'\n"
                "unix_socket_permissions = 0700\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
                "fsync = on\n"
                "max_connections = 50\n"
            )
        (self.datadir / "pg_hba.conf").write_text(
            "# mapapp embedded cluster: local socket only; the socket directory is 0700\n"
            "local all all trust\n"
        )
        return True

    def running(self) -> bool:
        if not self.initialised():
            return False
        proc = self._run([str(_bindir() / "pg_ctl"), "status", "-D", str(self.datadir)], check=False)
        return proc.returncode == 0

    def start(self) -> bool:
        """Initialise if needed and start. Returns True when it was started by this call."""
        self.init()
        self._ensure_system_user()
        if self.running():
            if not self._has_app_role():  # a cluster made before the app had its own role
                self._set_up_app_role()
            return False
        self._run([str(_bindir() / "pg_ctl"), "start", "-D", str(self.datadir), "-w", "-t", "60",
                   "-l", str(self.logfile), "-o", f"-p {PORT}"], env={**SERVER_MALLOC, **os.environ})
        self._set_up_app_role()
        return True

    def _has_app_role(self) -> bool:
        return bool(self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{roles.APP_ROLE}'"))

    def _set_up_app_role(self) -> None:
        """Create the main database and the app's login role (both idempotent) and grant it the tables."""
        self._create_database(DB_NAME)
        self.psql(roles.CREATE_ROLE)
        self.psql(roles.GRANT, DB_NAME)

    def stop(self) -> bool:
        if not self.running():
            return False
        self._run([str(_bindir() / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w"])
        return True

    def status(self) -> dict:
        running = self.running()
        return {"home": str(self.home), "initialised": self.initialised(),
                "running": running, "socket": str(self.socketdir), "url": self.app_url(),
                "owner_url": self.url(), "server_malloc": self.server_malloc() if running else None}

    def server_environ(self) -> dict | None:
        """The running server's environment, or None when it cannot be read (not running, or
        another user's process)."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
            raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            return None
        return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)

    def server_malloc(self) -> dict | None:
        """The SERVER_MALLOC variables the running server has (missing ones absent), or None when
        its environment cannot be read."""
        environ = self.server_environ()
        return None if environ is None else {k: environ[k] for k in SERVER_MALLOC if k in environ}

    def lacks_server_malloc(self) -> bool:
        """Running, readable, and started without the settings (before they existed)."""
        found = self.server_malloc()
        return found is not None and any(k not in found for k in SERVER_MALLOC)

    def psql(self, sql: str, dbname: str = "postgres", role: str = DB_USER) -> str:
        """Run SQL with psql as `role` (the owner unless told) and return its unaligned output."""
        psql = str(_bindir() / "psql")
        proc = self._run([psql, "-h", str(self.socketdir), "-p", str(PORT), "-U", role,
                          "-d", dbname, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return proc.stdout.strip()

    def _create_database(self, name: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise EmbeddedError(f"invalid database name {name!r}")
        for _ in range(50):
            if (self.socketdir / f".s.PGSQL.{PORT}").exists():
                break
            time.sleep(0.1)
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')


def cluster(home: Path) -> Cluster:
    return Cluster(Path(home).resolve())

def create_database(home: Path, name: str) -> str:
    """Create (if missing) a database in the running local cluster and return its URL."""
    c = cluster(home)
    c.start()
    c._create_database(name)
    return c.url(name)


def drop_database(home: Path, name: str) -> None:
    c = cluster(home)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name == DB_NAME:
        raise EmbeddedError(f"refusing to drop database {name!r}")
    c.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

