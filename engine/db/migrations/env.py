"""Alembic environment: runs migrations on the engine handed over by engine.db.migrate."""

from alembic import context

import engine.models  # noqa: F401  (registers every table on Base.metadata)
from engine.db.base import Base

config = context.config
db_engine = config.attributes.get("engine")

if db_engine is None:  # `alembic` run by hand: use the configured URL
    from engine.config import load_settings
    from engine.db.engine import create_db_engine

    db_engine = create_db_engine(load_settings().database_url)

with db_engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
