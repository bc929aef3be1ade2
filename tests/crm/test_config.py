"""Sales ops configure pipelines and stages, lost reasons, grades, pool rules, SLAs and service
strategies: scoped to their division, refused to others, audited, bad input refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.errors import Conflict, DomainError, Forbidden
from crm.lost_reasons import LostReasonsIn, set_lost_reasons
from crm.opportunities import OpportunityCreate, StageMove, create_opportunity, move_stage
from crm.pipeline import Opportunity, StageChange, stages_of
from crm.pipeline_config import (
    PipelineCreate,
    PipelineUpdate,
    StageCreate,
    StageIn,
    StageOrder,
    StageUpdate,
    add_stage,
    create_pipeline,
    delete_stage,
    list_pipelines,
    reorder_stages,
    update_pipeline,
    update_stage,
)
from crm.timeline import TimelineEvent
from tests.crm.conftest import NOW, Org, make_customer
from tests.factories import Factory


def _actions(session: Session, division_id: int) -> list[str]:
    rows = session.exec(select(AuditLog).where(AuditLog.division_id == division_id).order_by(AuditLog.id))
    return [r.action for r in rows]


def _project_pipeline(session: Session, org: Org) -> int:
    stages = [
        StageIn(name="立项", probability=10),
        StageIn(name="招标", probability=40),
        StageIn(name="中标", probability=100, is_won=True),
        StageIn(name="未中标", probability=0, is_lost=True),
    ]
    view = create_pipeline(
        session, actor=org.admin, data=PipelineCreate(name="工程项目", stages=stages), now=NOW
    )
    return view.id


def test_sales_ops_shape_a_pipeline(session: Session, org: Org) -> None:
    pipeline_id = _project_pipeline(session, org)
    view = add_stage(
        session,
        actor=org.head,
        pipeline_id=pipeline_id,
        data=StageCreate(name="技术交流", probability=20),
    )
    assert [(s.name, s.position, s.probability) for s in view.stages] == [
        ("立项", 0, 10),
        ("招标", 1, 40),
        ("技术交流", 2, 20),  # after the last open stage, before won/lost
        ("中标", 3, 100),
        ("未中标", 4, 0),
    ]
    ids = {s.name: s.id for s in view.stages}
    order = [ids["立项"], ids["技术交流"], ids["招标"], ids["中标"], ids["未中标"]]
    view = reorder_stages(session, actor=org.head, pipeline_id=pipeline_id, data=StageOrder(stage_ids=order))
    assert [s.id for s in view.stages] == order
    view = update_stage(
        session, actor=org.admin, stage_id=ids["招标"], data=StageUpdate(name="投标", probability=60)
    )
    assert ("投标", 60) in [(s.name, s.probability) for s in view.stages]
    renamed = update_pipeline(
        session,
        actor=org.head,
        pipeline_id=pipeline_id,
        data=PipelineUpdate(name="政府项目", is_default=True),
    )
    assert (renamed.name, renamed.is_default) == ("政府项目", True)
    pipelines = list_pipelines(session, actor=org.rep1)
    assert [(p.name, p.is_default) for p in pipelines] == [("政府项目", True), ("默认销售流程", False)]
    # the new default pipeline is where new opportunities start
    customer = make_customer(session, org.rep1, "市政工程局")
    opp = create_opportunity(
        session, actor=org.rep1, data=OpportunityCreate(customer_id=customer.id, name="路灯"), now=NOW
    )
    assert (opp.pipeline_id, opp.stage_id) == (pipeline_id, ids["立项"])
    assert _actions(session, org.a.id) == [
        "config.pipeline.create",
        "config.stage.create",
        "config.stage.reorder",
        "config.stage.update",
        "config.pipeline.update",
    ]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "config.stage.update")).one()
    assert audit.actor_user_id == org.admin.id
    assert audit.detail["before"]["name"] == "招标" and audit.detail["after"]["probability"] == 60


def test_a_stage_with_opportunities_is_deleted_only_by_moving_them(session: Session, org: Org) -> None:
    pipeline_id = _project_pipeline(session, org)
    stages = {s.name: s for s in stages_of(session, pipeline_id)}
    customer = make_customer(session, org.rep1, "港务集团")
    opp = create_opportunity(
        session,
        actor=org.rep1,
        data=OpportunityCreate(
            customer_id=customer.id, name="岸桥", pipeline_id=pipeline_id, stage_id=stages["招标"].id
        ),
        now=NOW,
    )
    with pytest.raises(Conflict) as refused:
        delete_stage(session, actor=org.head, stage_id=stages["招标"].id, move_to=None, now=NOW)
    assert refused.value.field == "move_to" and f"{stages['立项'].id} 立项" in refused.value.detail
    with pytest.raises(DomainError) as wrong_kind:
        delete_stage(session, actor=org.head, stage_id=stages["招标"].id, move_to=stages["中标"].id, now=NOW)
    assert wrong_kind.value.field == "move_to"
    with pytest.raises(Conflict):
        update_stage(
            session,
            actor=org.head,
            stage_id=stages["招标"].id,
            data=StageUpdate(is_won=True, probability=100),
        )

    result = delete_stage(
        session, actor=org.head, stage_id=stages["招标"].id, move_to=stages["立项"].id, now=NOW
    )
    assert result.moved == 1
    session.refresh(opp)
    assert (opp.stage_id, opp.probability) == (stages["立项"].id, 10)
    assert [s.name for s in stages_of(session, pipeline_id)] == ["立项", "中标", "未中标"]
    history = session.exec(
        select(StageChange).where(StageChange.opportunity_id == opp.id).order_by(StageChange.id)
    ).all()
    assert [(h.from_stage_id, h.to_stage_id) for h in history][-1] == (stages["招标"].id, stages["立项"].id)
    event = session.exec(
        select(TimelineEvent).where(
            TimelineEvent.kind == "stage_change", TimelineEvent.source_id == history[-1].id
        )
    ).one()
    assert "招标 → 立项" in event.summary
    # the deleted stage no longer takes opportunities; the pipeline keeps one lost stage
    with pytest.raises(DomainError):
        move_stage(
            session,
            actor=org.rep1,
            opportunity_id=opp.id,
            move=StageMove(stage_id=stages["招标"].id),
            now=NOW,
        )
    with pytest.raises(DomainError) as last_lost:
        delete_stage(session, actor=org.head, stage_id=stages["未中标"].id, move_to=None, now=NOW)
    assert "one open, one won and one lost" in last_lost.value.detail
    assert _actions(session, org.a.id)[-1] == "config.stage.delete"


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([("a", 10, False, False), ("w", 100, True, True), ("l", 0, False, True)], "both won and lost"),
        ([("a", 10, False, False), ("w", 90, True, False), ("l", 0, False, True)], "probability 100"),
        ([("a", 10, False, False), ("b", 20, False, False), ("w", 100, True, False)], "one lost"),
        (
            [
                ("a", 10, False, False),
                ("A", 20, False, False),
                ("w", 100, True, False),
                ("l", 0, False, True),
            ],
            "different",
        ),
    ],
)
def test_bad_stage_sets_are_refused(session: Session, org: Org, stages: list[Any], message: str) -> None:
    data = PipelineCreate(
        name="x", stages=[StageIn(name=n, probability=p, is_won=w, is_lost=lo) for n, p, w, lo in stages]
    )
    with pytest.raises(DomainError) as refused:
        create_pipeline(session, actor=org.head, data=data, now=NOW)
    assert message in refused.value.detail
    assert _actions(session, org.a.id) == []


def test_lost_needs_a_listed_reason_or_other_with_text(session: Session, org: Org) -> None:
    reasons = set_lost_reasons(
        session,
        actor=org.admin,
        division_id=org.a.id,
        data=LostReasonsIn(reasons=["价格太高", "选择了竞争对手"]),
        now=NOW,
    )
    other_division = set_lost_reasons(
        session, actor=org.head_b, division_id=org.b.id, data=LostReasonsIn(reasons=["交期太长"]), now=NOW
    )
    customer = make_customer(session, org.rep1, "模具厂")
    lost = next(
        s
        for s in stages_of(
            session,
            create_opportunity(
                session, actor=org.rep1, data=OpportunityCreate(customer_id=customer.id, name="一期"), now=NOW
            ).pipeline_id,
        )
        if s.is_lost
    )
    opp_id = session.exec(select(Opportunity.id)).one()

    def lose(**move: Any) -> Opportunity:
        return move_stage(
            session, actor=org.rep1, opportunity_id=opp_id, move=StageMove(stage_id=lost.id, **move), now=NOW
        )

    for bad, field in (({}, "lost_reason"), ({"lost_reason_id": other_division[0].id}, "lost_reason_id")):
        with pytest.raises(DomainError) as refused:
            lose(**bad)
        assert refused.value.field == field
    opp = lose(lost_reason_id=reasons[0].id, lost_reason="比对手贵 15%")
    assert (opp.lost_reason_id, opp.lost_reason, opp.status) == (
        reasons[0].id,
        "价格太高: 比对手贵 15%",
        "lost",
    )
    first = stages_of(session, opp.pipeline_id)[0]
    with pytest.raises(DomainError):
        move_stage(
            session,
            actor=org.rep1,
            opportunity_id=opp_id,
            move=StageMove(stage_id=first.id, lost_reason_id=reasons[0].id),
            now=NOW,
        )
    move_stage(session, actor=org.rep1, opportunity_id=opp_id, move=StageMove(stage_id=first.id), now=NOW)
    assert (opp.lost_reason_id, opp.lost_reason) == (None, "")
    opp = lose(lost_reason="客户项目取消")  # other
    assert (opp.lost_reason_id, opp.lost_reason) == (None, "客户项目取消")

    # replacing the list keeps the ids of kept reasons and retires the others
    again = set_lost_reasons(
        session,
        actor=org.head,
        division_id=org.a.id,
        data=LostReasonsIn(reasons=["预算不足", "价格太高"]),
        now=NOW,
    )
    assert [(r.label, r.position) for r in again] == [("预算不足", 0), ("价格太高", 1)]
    assert again[1].id == reasons[0].id
    move_stage(session, actor=org.rep1, opportunity_id=opp_id, move=StageMove(stage_id=first.id), now=NOW)
    with pytest.raises(DomainError):
        lose(lost_reason_id=reasons[1].id)  # retired
    for bad_list in (["其他"], ["价格", "价格"], [""]):
        with pytest.raises(DomainError):
            set_lost_reasons(
                session, actor=org.head, division_id=org.a.id, data=LostReasonsIn(reasons=bad_list), now=NOW
            )
    with pytest.raises(Forbidden):
        set_lost_reasons(
            session, actor=org.rep1, division_id=org.a.id, data=LostReasonsIn(reasons=["x"]), now=NOW
        )
    audit = session.exec(
        select(AuditLog)
        .where(AuditLog.action == "config.lost_reasons.set", AuditLog.division_id == org.a.id)
        .order_by(AuditLog.id)
    ).all()
    assert [a.detail["after"] for a in audit] == [["价格太高", "选择了竞争对手"], ["预算不足", "价格太高"]]


CONFIG_CHANGES: list[tuple[str, str, Any]] = [
    ("POST", "/api/v1/pipelines", {"name": "渠道", "division_id": "{a}"}),
    ("PUT", "/api/v1/divisions/{a}/lost-reasons", {"reasons": ["价格太高"]}),
    (
        "PUT",
        "/api/v1/divisions/{a}/grades",
        {"grades": [{"code": "A", "label": "战略"}, {"code": "B"}, {"code": "C"}, {"code": "D"}]},
    ),
    ("PUT", "/api/v1/divisions/{a}/sla", {"grade": "A", "response_hours": 2, "resolve_hours": 12}),
    ("PUT", "/api/v1/divisions/{a}/service-strategies", {"grade": "A", "visit_every_days": 14}),
    ("PATCH", "/api/v1/pools/{pool}", {"daily_claim_cap": 5}),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        return int(value.format(**ids)) if value.startswith("{") else value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def test_configuration_rights_per_role_over_http(
    client: TestClient, factory: Factory, session: Session, org: Org
) -> None:
    pool = client.get("/api/v1/pools", headers=factory.headers(org.head)).json()[0]
    ids = {"a": org.a.id, "pool": pool["id"]}
    refused = {"rep": org.rep1, "other division's head": org.head_b, "sysadmin": org.sysadmin}
    for method, path, body in CONFIG_CHANGES:
        url, payload = _fill(path, ids), _fill(body, ids)
        for who, user in refused.items():
            response = client.request(method, url, json=payload, headers=factory.headers(user))
            assert response.status_code in (403, 404), (who, url, response.text)
        for user in (org.admin, org.head, org.executive):
            response = client.request(
                method,
                url,
                json=payload | {"name": f"渠道{user.id}"} if "pipelines" in url else payload,
                headers=factory.headers(user),
            )
            assert response.status_code in (200, 201), (user.role, url, response.text)
    audited = session.exec(
        select(AuditLog.action, AuditLog.actor_user_id).where(AuditLog.action.startswith("config."))
    ).all()
    assert {a for a, _ in audited} == {
        "config.pipeline.create",
        "config.lost_reasons.set",
        "config.grades.set",
        "config.sla.set",
        "config.strategy.set",
        "config.pool.update",
    }
    assert len(audited) == 3 * len(CONFIG_CHANGES)
    # everyone of the division reads the configuration; other divisions do not
    rep = factory.headers(org.rep1)
    for path in ("/api/v1/divisions/{a}/lost-reasons", "/api/v1/divisions/{a}/grades"):
        assert client.get(_fill(path, ids), headers=rep).status_code == 200
        assert client.get(_fill(path, ids), headers=factory.headers(org.rep_b)).status_code == 403
    grades = client.get(_fill("/api/v1/divisions/{a}/grades", ids), headers=rep).json()
    assert [(g["code"], g["label"]) for g in grades][:2] == [("A", "战略"), ("B", "")]
    assert {
        p["division_id"] for p in client.get("/api/v1/pipelines", headers=factory.headers(org.rep_b)).json()
    } == {org.b.id}
    sla = client.get(_fill("/api/v1/divisions/{a}/sla", ids), headers=rep).json()
    assert [(p["grade"], p["resolve_hours"]) for p in sla] == [("A", 12)]
    assert client.delete(f"/api/v1/sla-policies/{sla[0]['id']}", headers=rep).status_code == 403
    assert (
        client.delete(f"/api/v1/sla-policies/{sla[0]['id']}", headers=factory.headers(org.admin)).status_code
        == 204
    )
    assert client.get(_fill("/api/v1/divisions/{a}/sla", ids), headers=rep).json() == []


def test_bad_configuration_input_over_http(
    client: TestClient, factory: Factory, session: Session, org: Org
) -> None:
    headers = factory.headers(org.head)
    pipeline = client.get("/api/v1/pipelines", headers=headers).json()[0]
    stage_ids = [s["id"] for s in pipeline["stages"]]
    make_customer(session, org.rep1, "老客户", grade="B")
    cases: list[tuple[str, str, Any, int, str | None]] = [
        ("POST", "/api/v1/pipelines", {"name": "x", "colour": "red"}, 422, "colour"),
        ("POST", "/api/v1/pipelines", {"name": pipeline["name"]}, 409, "name"),
        (
            "POST",
            f"/api/v1/pipelines/{pipeline['id']}/stages",
            {"name": "x", "probability": 101},
            422,
            "probability",
        ),
        (
            "POST",
            f"/api/v1/pipelines/{pipeline['id']}/stages",
            {"name": "赢单", "probability": 50},
            400,
            "name",
        ),
        (
            "PUT",
            f"/api/v1/pipelines/{pipeline['id']}/stage-order",
            {"stage_ids": stage_ids[:-1]},
            400,
            "stage_ids",
        ),
        ("PATCH", f"/api/v1/pipeline-stages/{stage_ids[0]}", {"name": None}, 400, "stage"),
        ("PATCH", "/api/v1/pipeline-stages/999999", {"name": "x"}, 404, "stage_id"),
        ("DELETE", f"/api/v1/pipeline-stages/{stage_ids[0]}?move_to={stage_ids[-1]}", None, 400, "move_to"),
        (
            "PUT",
            f"/api/v1/divisions/{org.a.id}/grades",
            {"grades": [{"code": "A"}, {"code": "C"}]},
            409,
            "grades",
        ),
        ("PUT", f"/api/v1/divisions/{org.a.id}/grades", {"grades": []}, 422, "grades"),
        (
            "PUT",
            f"/api/v1/divisions/{org.a.id}/sla",
            {"response_hours": 30, "resolve_hours": 24},
            400,
            "response_hours",
        ),
        (
            "PUT",
            f"/api/v1/divisions/{org.a.id}/sla",
            {"grade": "Z", "response_hours": 1, "resolve_hours": 2},
            400,
            "grade",
        ),
        ("PUT", f"/api/v1/divisions/{org.a.id}/lost-reasons", {"reasons": ["x" * 101]}, 400, "reasons"),
    ]
    for method, url, body, status, field in cases:
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == status, (url, body, response.text)
        assert field is None or field in str(response.json().get("field") or response.json()), (
            url,
            response.json(),
        )
    assert not any(a.startswith("config.") for a in _actions(session, org.a.id))
