"""Alembic environment: the URL comes from mapapp settings (or the caller's config)."""
from alembic import context

from mapapp.db.models import Base

config = context.config
connection = config.attributes.get("connection")


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS and pgRouting own tables of their own (spatial_ref_sys, topology ...)
    return not (type_ == "table" and reflected and compare_to is None)


def run() -> None:
    if connection is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _migrate(conn)
    else:
        _migrate(connection)


def _migrate(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata,
                      include_object=include_object, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


run()
