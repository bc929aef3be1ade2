from alembic import context
from sqlalchemy import create_engine, pool

from server.schema import metadata

config = context.config


def run_migrations() -> None:
    # Plain engine without the app's SQLite pragmas: batch migrations recreate tables and
    # must not trip foreign-key enforcement midway.
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
