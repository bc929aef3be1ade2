"""What each exportable list writes: its columns (numbers masked per row) and per-chunk lookups."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.customer_service import active_phones
from crm.customers import Customer
from crm.exporter import Column, ExportSpec, masked_phone, owner_names
from crm.leads import Lead
from crm.pipeline import Opportunity
from crm.tickets import Ticket


def _owners(session: Session, rows: list[Any]) -> dict[str, Any]:
    return {"owners": owner_names(session, {r.owner_id for r in rows if getattr(r, "owner_id", None)})}


def _customer_prefetch(session: Session, rows: list[Customer]) -> dict[str, Any]:
    return {
        "phones": active_phones(session, [r.id for r in rows]),  # type: ignore[misc]
        **_owners(session, rows),
    }


CUSTOMER_EXPORT = ExportSpec(
    model=Customer,
    prefetch=_customer_prefetch,
    columns=[
        Column("ID", lambda c, _: c.id),
        Column("客户名称", lambda c, _: c.name),
        Column("类型", lambda c, _: c.kind),
        Column("等级", lambda c, _: c.grade),
        Column("来源", lambda c, _: c.source),
        Column("标签", lambda c, _: ",".join(c.tags)),
        Column("地区", lambda c, _: c.region),
        Column("地址", lambda c, _: c.address),
        Column("负责人", lambda c, x: x.extra["owners"].get(c.owner_id, "公海") if c.owner_id else "公海"),
        Column(
            "电话",
            lambda c, x: " ".join(
                masked_phone(p.e164, c.owner_id, x) for p in x.extra["phones"].get(c.id, [])
            ),
        ),
        Column("创建时间", lambda c, x: x.time(c.created_at)),
        Column("最近跟进", lambda c, x: x.time(c.last_activity_at)),
    ],
)


def _owner(row: Any, ctx: Any) -> str:
    return ctx.extra["owners"].get(row.owner_id, "") if row.owner_id else ""


LEAD_EXPORT = ExportSpec(
    model=Lead,
    prefetch=_owners,
    columns=[
        Column("ID", lambda r, _: r.id),
        Column("姓名", lambda r, _: r.name),
        Column("公司", lambda r, _: r.company),
        Column("职务", lambda r, _: r.title),
        Column("电话", lambda r, x: masked_phone(r.phone_e164, r.owner_id, x) if r.phone_e164 else ""),
        Column("来源", lambda r, _: r.source),
        Column("状态", lambda r, _: r.status),
        Column("负责人", _owner),
        Column("创建时间", lambda r, x: x.time(r.created_at)),
        Column("最近跟进", lambda r, x: x.time(r.last_activity_at)),
    ],
)

OPPORTUNITY_EXPORT = ExportSpec(
    model=Opportunity,
    prefetch=_owners,
    columns=[
        Column("ID", lambda r, _: r.id),
        Column("商机名称", lambda r, _: r.name),
        Column("客户ID", lambda r, _: r.customer_id),
        Column("金额", lambda r, _: str(r.amount)),
        Column("赢率%", lambda r, _: r.probability),
        Column("状态", lambda r, _: r.status),
        Column("预计成交", lambda r, _: r.expected_close.isoformat() if r.expected_close else ""),
        Column("输单原因", lambda r, _: r.lost_reason),
        Column("负责人", _owner),
        Column("创建时间", lambda r, x: x.time(r.created_at)),
    ],
)

TICKET_EXPORT = ExportSpec(
    model=Ticket,
    prefetch=lambda session, rows: {
        "owners": owner_names(session, {r.assignee_id for r in rows if r.assignee_id})
    },
    columns=[
        Column("ID", lambda r, _: r.id),
        Column("主题", lambda r, _: r.subject),
        Column("类型", lambda r, _: r.kind),
        Column("优先级", lambda r, _: r.priority),
        Column("状态", lambda r, _: r.status),
        Column("客户ID", lambda r, _: r.customer_id),
        Column("处理人", lambda r, x: x.extra["owners"].get(r.assignee_id, "") if r.assignee_id else ""),
        Column("解决时限", lambda r, x: x.time(r.resolve_by)),
        Column("升级级别", lambda r, _: r.escalation_level),
        Column("创建时间", lambda r, x: x.time(r.created_at)),
    ],
)
