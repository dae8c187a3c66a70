"""GeoAlchemy2 models. Geometries are stored in SRID 4326 with GiST indexes (GeoAlchemy2 adds them)."""
from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, Date, DateTime, Float, ForeignKey,
                        Index, Integer, LargeBinary, String, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

SRID = 4326
ADMIN_LEVELS = ("district", "street", "community")
PLAN_STATUSES = ("draft", "published", "archived")
INCIDENT_STATUSES = ("reported", "registered", "dispatched", "in_progress", "handled", "closed",
                     "voided")
ROLES = ("viewer", "dispatcher", "planner", "patrol_lead", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    pass


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (xid8), which SQLAlchemy has no type for."""
    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "xid8"


postgresql_base.ischema_names.setdefault("xid8", Xid8)  # so reflection (alembic's comparison) knows it


class AdminArea(Base):
    """district -> street/township -> community."""
    __tablename__ = "admin_areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_areas.id", ondelete="RESTRICT"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (CheckConstraint(_in("level", ADMIN_LEVELS), name="admin_level_valid"),)


class GridPlan(Base):
    __tablename__ = "grid_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="0")  # bumped by every edit (409 when stale)
    base_plan_id: Mapped[int | None] = mapped_column(ForeignKey("grid_plans.id", ondelete="SET NULL"))
    __table_args__ = (
        CheckConstraint(_in("status", PLAN_STATUSES), name="plan_status_valid"),
        Index("one_published_plan", "status", unique=True,
              postgresql_where=text("status = 'published'")),
    )


class Grid(Base):
    """A management grid with its 一格多元 team (names optional)."""
    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plans.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("admin_areas.id"))
    grid_head: Mapped[str | None] = mapped_column(String(100))
    police_officer: Mapped[str | None] = mapped_column(String(100))
    assistant: Mapped[str | None] = mapped_column(String(100))
    supervisor: Mapped[str | None] = mapped_column(String(100))
    locked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    staffing: Mapped[int] = mapped_column(Integer, server_default="1")  # workers; the band scales with it
    waiver: Mapped[str | None] = mapped_column(Text)  # why this grid may publish outside its band
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (UniqueConstraint("plan_id", "code", name="grid_code_unique_in_plan"),)


class PlanEdit(Base):
    """One versioned edit of a draft: the grids before and after (undo applies before, redo after)."""
    __tablename__ = "plan_edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plans.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(100))
    before = mapped_column(JSONB, nullable=False)
    after = mapped_column(JSONB, nullable=False)
    undone: Mapped[bool] = mapped_column(Boolean, server_default="false")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (UniqueConstraint("plan_id", "seq", name="plan_edit_seq_unique"),)


class PlanPublication(Base):
    """History of published plans: which plan went live, which it replaced, who, when."""
    __tablename__ = "plan_publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plans.id", ondelete="CASCADE"))
    replaced_plan_id: Mapped[int | None] = mapped_column(ForeignKey("grid_plans.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BaseUnit(Base):
    """A building or address with households and population; grid workload derives from these."""
    __tablename__ = "base_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="building")
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    population: Mapped[int] = mapped_column(Integer, server_default="0")
    estimated: Mapped[bool] = mapped_column(Boolean, server_default="false")
    source: Mapped[str | None] = mapped_column(String(200))
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        CheckConstraint("kind IN ('building', 'address')", name="base_unit_kind_valid"),
        CheckConstraint("households >= 0 AND population >= 0", name="base_unit_counts_nonnegative"),
    )


_OPEN = "status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled')"
# The UTM zone of an incident (EPSG code, as mapapp.geo.crs.utm_crs_for) and its metres there (also
# packed as two float8send), kept by PostgreSQL (migrations 0009, 0010) so hot spot analysis reads
# metres without ST_Transform per row.
_UTM_ZONE = ("CASE WHEN ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90 THEN "
             "(CASE WHEN ST_Y(geom) >= 0 THEN 32600 ELSE 32700 END) "
             "+ least(floor((ST_X(geom) + 180) / 6)::integer + 1, 60) END")


class Incident(Base):
    """grid_id/community_id/assign_flag are set from the location by a trigger on insert."""
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default="reported")
    priority: Mapped[str] = mapped_column(String(16), server_default="normal")
    source: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int | None] = mapped_column(Integer)
    simulated: Mapped[bool] = mapped_column(Boolean, server_default="false")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="SET NULL"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("admin_areas.id"), index=True)
    assign_flag: Mapped[str | None] = mapped_column(String(16))
    deadline_hours: Mapped[float | None] = mapped_column(Float)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    utm_srid: Mapped[int | None] = mapped_column(Integer, Computed(_UTM_ZONE, persisted=True))
    utm_x: Mapped[float | None] = mapped_column(Float, Computed(f"ST_X(ST_Transform(geom, {_UTM_ZONE}))",
                                                                persisted=True))
    utm_y: Mapped[float | None] = mapped_column(Float, Computed(f"ST_Y(ST_Transform(geom, {_UTM_ZONE}))",
                                                                persisted=True))
    utm_xy: Mapped[bytes | None] = mapped_column(LargeBinary, Computed(
        f"float8send(ST_X(ST_Transform(geom, {_UTM_ZONE}))) || float8send(ST_Y(ST_Transform(geom, {_UTM_ZONE})))",
        persisted=True))
    __table_args__ = (
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="incident_status_valid"),
        CheckConstraint("priority IN ('normal', 'high', 'urgent')", name="incident_priority_valid"),
        CheckConstraint("assign_flag IS NULL OR assign_flag IN ('boundary', 'outside')",
                        name="incident_assign_flag_valid"),
        Index("incidents_open_due", "due_at", postgresql_where=text(_OPEN)),
        # intake's duplicate search: open cases of one category nearby (btree_gist, migration 0012)
        Index("incidents_open_geom", "geom", "category", postgresql_using="gist", postgresql_where=text(_OPEN)),
        Index("incidents_utm", "utm_srid", "reported_at", "category",
              postgresql_include=["utm_x", "utm_y", "utm_xy"]),
    )


class IncidentEvent(Base):
    """One step of a case: who did what, when, with a note."""
    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the writing transaction (migration 0014): what the changes feed and the tile version go by
    txid: Mapped[int] = mapped_column(Xid8, server_default=func.pg_current_xact_id(), index=True)


class KeyPlace(Base):
    """重点场所."""
    __tablename__ = "key_places"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class Street(Base):
    """Street segment; source/target are filled by pgr_createTopology for routing."""
    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    street_class: Mapped[str | None] = mapped_column("class", String(64))
    length_m: Mapped[float] = mapped_column(Float)
    oneway: Mapped[bool] = mapped_column(Boolean, server_default="false")
    source: Mapped[int | None] = mapped_column(Integer, index=True)
    target: Mapped[int | None] = mapped_column(Integer, index=True)
    geom = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=True), nullable=False)


class StreetEdge(Base):
    """A noded piece of a street, routable in pgRouting; costs are seconds, -1 where a mode may not go."""
    __tablename__ = "street_edges"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id", ondelete="CASCADE"), index=True)
    source: Mapped[int | None] = mapped_column(BigInteger, index=True)
    target: Mapped[int | None] = mapped_column(BigInteger, index=True)
    street_class: Mapped[str | None] = mapped_column("class", String(64))
    oneway: Mapped[bool] = mapped_column(Boolean, server_default="false")
    length_m: Mapped[float] = mapped_column(Float)
    cost_foot: Mapped[float | None] = mapped_column(Float)
    reverse_cost_foot: Mapped[float | None] = mapped_column(Float)
    cost_bicycle: Mapped[float | None] = mapped_column(Float)
    reverse_cost_bicycle: Mapped[float | None] = mapped_column(Float)
    cost_car: Mapped[float | None] = mapped_column(Float)
    reverse_cost_car: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=True), nullable=False)


class StreetVertex(Base):
    """A node of the street network with its connected component per travel mode (NULL: mode absent)."""
    __tablename__ = "street_vertices"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    component_foot: Mapped[int | None] = mapped_column(BigInteger)
    component_bicycle: Mapped[int | None] = mapped_column(BigInteger)
    component_car: Mapped[int | None] = mapped_column(BigInteger)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class Patrol(Base):
    """A saved patrol plan: the request, its summary and the routes as a GeoJSON FeatureCollection."""
    __tablename__ = "patrols"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    params = mapped_column(JSONB, nullable=False)
    summary = mapped_column(JSONB, nullable=False)
    routes = mapped_column(JSONB, nullable=False)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="user_role_valid"),)


class ApiToken(Base):
    """Only a SHA-256 of the token is stored; the token itself is shown once."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, server_default="false")


class _IncidentTally:
    """Incidents counted per zoom-18 Web Mercator cell, top-level category and status, kept by
    triggers on incidents (migration 0006); sx/sy sum Mercator coordinates for mean positions."""
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)
    top: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    sx: Mapped[float] = mapped_column(Float)
    sy: Mapped[float] = mapped_column(Float)


class IncidentTallyDay(_IncidentTally, Base):
    __tablename__ = "incident_tally_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class IncidentTallyMonth(_IncidentTally, Base):
    __tablename__ = "incident_tally_month"
    month: Mapped[date] = mapped_column(Date, primary_key=True)


class AuditEntry(Base):
    """Append-only record of who changed what (migration 0008: triggers write it in the changing
    transaction and refuse UPDATE, DELETE and TRUNCATE of it)."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(100))
    before = mapped_column(JSONB)
    after = mapped_column(JSONB)
    __table_args__ = (Index("audit_log_at", "at"),
                      Index("audit_log_actor_ip_action", "actor", "ip", "action", "at"))
