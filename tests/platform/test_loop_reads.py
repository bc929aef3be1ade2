from __future__ import annotations

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.orm import object_session
from sqlmodel import Session

from crm.org import Role, User
from server.loop_reads import LoopRead, detached, model_columns
from tests.factories import Factory

_USER_BY_ID = select(*model_columns(User)).where(User.id == bindparam("user_id"))


def test_a_detached_instance_holds_what_the_orm_loads(db: Engine, factory: Factory, session: Session):
    made = factory.user(Role.rep)
    row = LoopRead(_USER_BY_ID, db).first({"user_id": made.id})
    assert row is not None
    user = detached(User, row)
    session.expunge_all()
    loaded = session.get(User, made.id)
    for column in model_columns(User):
        assert getattr(user, column.key) == getattr(loaded, column.key), column.key
    assert user.created_at.tzinfo is not None and user.is_active is True
    assert LoopRead(_USER_BY_ID, db).first({"user_id": -1}) is None


def test_a_detached_instance_is_updated_not_inserted_when_added(db: Engine, factory: Factory):
    made = factory.user(Role.rep)
    user = detached(User, LoopRead(_USER_BY_ID, db).first({"user_id": made.id}))
    assert object_session(user) is None
    with Session(db) as other:
        user.locale = "en"
        other.add(user)
        other.commit()
        assert other.scalar(select(func.count()).select_from(User)) == 1
    with Session(db) as fresh:
        assert fresh.get(User, made.id).locale == "en"


def test_a_dropped_connection_is_replaced(db: Engine, factory: Factory):
    made = factory.user(Role.rep)
    read = LoopRead(_USER_BY_ID, db)
    assert read.first({"user_id": made.id}) is not None
    pooled = read.engine.raw_connection()
    pooled.dbapi_connection.close()
    pooled.close()
    assert read.first({"user_id": made.id}) is not None


def test_a_read_never_waits_for_a_connection(db: Engine, factory: Factory):
    """Worker threads may hold many; a read on the event loop must not block for one."""
    made = factory.user(Role.rep)
    read = LoopRead(_USER_BY_ID, db)
    held = [read.engine.raw_connection() for _ in range(25)]
    try:
        assert read.first({"user_id": made.id}) is not None
    finally:
        for connection in held:
            connection.close()
