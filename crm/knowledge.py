"""Knowledge base of sales scripts (话术库): titled texts with a category and tags, searchable."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy import JSON, Column, or_
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible, scope
from crm.actors import acting_division, require_manager
from crm.customer_service import tag_clause
from crm.errors import NotFound
from crm.names import clean_text
from crm.org import User
from crm.paging import Page, Sort, fetch_page
from crm.schemas import Input, View
from crm.types import UTCDateTime


class Script(SQLModel, table=True):
    __tablename__ = "sales_script"

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    title: str = SQLField(max_length=200)
    category: str = SQLField(default="", max_length=50, description="e.g. 开场白, 异议处理, 促成交易")
    body: str = SQLField(max_length=10_000)
    tags: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class ScriptIn(Input):
    title: str = Field(min_length=1, max_length=200)
    category: str = Field(default="", max_length=50)
    body: str = Field(min_length=1, max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    division_id: int | None = None


class ScriptView(View):
    id: int
    division_id: int
    title: str
    category: str
    body: str
    tags: list[str]
    updated_at: datetime


def save_script(
    session: Session, *, actor: User, data: ScriptIn, now: datetime, script_id: int | None = None
) -> Script:
    """Create (or, with ``script_id``, replace) a script; managers curate the division's library."""
    if script_id is None:
        script = Script(
            division_id=acting_division(session, actor, data.division_id), updated_at=now, title="", body=""
        )
    else:
        found = get_visible(session, actor, Script, script_id)
        if found is None:
            raise NotFound("no such script", field="script_id", code="script.not_found")
        script = found
    require_manager(actor, script.division_id)
    script.title, script.category, script.body = clean_text(data.title), clean_text(data.category), data.body
    script.tags = list(dict.fromkeys(clean_text(t) for t in data.tags if clean_text(t)))
    script.created_by_user_id = script.created_by_user_id or actor.id
    script.updated_at = now
    session.add(script)
    session.commit()
    return script


SORT = Sort(Script.id, Script.id, descending=True)


def search_scripts(
    session: Session,
    *,
    actor: User,
    q: str | None = None,
    tag: str | None = None,
    category: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ScriptView]:
    """Scripts whose title or text contains every word of ``q`` (and the tag/category, when given)."""
    stmt = scope(select(Script), actor, Script)
    for word in clean_text(q).split():
        stmt = stmt.where(
            or_(Script.title.contains(word, autoescape=True), Script.body.contains(word, autoescape=True))
        )
    if tag:
        stmt = stmt.where(tag_clause(tag, Script.tags))
    if category:
        stmt = stmt.where(Script.category == clean_text(category))
    page = fetch_page(session, stmt, SORT, cursor=cursor, limit=limit)
    return Page([ScriptView.model_validate(s) for s in page.items], page.next_cursor)
