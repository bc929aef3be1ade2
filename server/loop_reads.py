"""Reads cheap enough to run on the event loop: one statement, compiled once, run at the driver level.

Every authenticated request looks up its credential. Through the ORM that costs a worker-thread
hop (plus a second one to close the session) and SQLAlchemy's statement and instance-loading
machinery, several times the query itself. A ``LoopRead`` runs its statement on a pooled driver
connection of ``server.db.loop_engine`` (own pool, autocommit) and converts the columns with the
same result processors SQLAlchemy would use. ``detached`` turns the columns of a table model into
an ORM instance that is detached from any session: routes can read it, and ``session.add`` it to
change it, as if a session had loaded it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import SQLModel

from server.db import loop_engine

Model = TypeVar("Model", bound=SQLModel)


class LoopRead:
    """``stmt`` compiled for ``engine``'s database, run on the event loop's own connections."""

    def __init__(self, stmt: Select[Any], engine: Engine) -> None:
        self.engine = loop_engine(engine.url.render_as_string(hide_password=False))
        dialect = self.engine.dialect
        compiled = stmt.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise TypeError(f"parameter {name!r} needs conversion; a LoopRead takes plain values only")
        self.sql = compiled.string
        order = compiled.positiontup
        self._args: Callable[[Mapping[str, Any]], Any] = (
            (lambda params: tuple(params[name] for name in order)) if order is not None else dict
        )
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in stmt.selected_columns
        ]
        self._converted = [(i, p) for i, p in enumerate(processors) if p is not None]

    def first(self, params: Mapping[str, Any]) -> list[Any] | None:
        """The first row's values, converted as SQLAlchemy would, or None."""
        raw = self._fetch(self._args(params))
        if raw is None:
            return None
        row = list(raw)
        for i, process in self._converted:
            row[i] = process(row[i])
        return row

    def _fetch(self, args: Any, *, retry: bool = True) -> Any:
        """The first raw row; a connection found dropped (database restarted) is replaced once."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, args)
                return cursor.fetchone()
            finally:
                cursor.close()
        except self.engine.dialect.loaded_dbapi.Error as error:
            if not (retry and self.engine.dialect.is_disconnect(error, connection.dbapi_connection, None)):
                raise
            connection.invalidate(error)
        finally:
            connection.close()
        return self._fetch(args, retry=False)


@cache
def _column_keys(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(attr.key for attr in inspect(model).column_attrs)


def model_columns(model: type[SQLModel]) -> list[Any]:
    """The table columns of ``model`` in the order ``detached`` expects them."""
    mapper = inspect(model)
    return [mapper.columns[key] for key in _column_keys(model)]


def detached(model: type[Model], values: Sequence[Any]) -> Model:
    """An instance of ``model`` as a session would have loaded it from ``values``
    (its ``model_columns``), already detached from that session."""
    instance = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    instance.__dict__.update(zip(_column_keys(model), values, strict=True))
    make_transient_to_detached(instance)
    return instance
