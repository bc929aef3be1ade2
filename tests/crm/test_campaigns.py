"""Campaigns to tag/grade/region segments through the outbox sender, responses linked back; the script library."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from crm.campaigns import (
    CampaignIn,
    CampaignRecipient,
    SegmentIn,
    create_campaign,
    create_segment,
    link_campaign_responses,
    send_campaign,
)
from crm.communications import CapturedSms
from crm.devices import Device
from crm.errors import Conflict, DomainError, Forbidden
from crm.knowledge import ScriptIn, save_script, search_scripts
from crm.senders import Senders
from crm.timeline import TimelineEvent
from tests.crm.conftest import NOW, Org, make_customer


def test_campaign_to_a_segment_and_responses(session: Session, org: Org, tmp_path: Path) -> None:
    hit = make_customer(
        session,
        org.head,
        "宁波港机械",
        phone="13800000001",
        grade="A",
        tags=["港口"],
        region="浙江宁波",
        owner_id=org.rep1.id,
    )
    make_customer(
        session,
        org.head,
        "杭州电器",
        phone="13800000002",
        grade="A",
        tags=["家电"],
        region="浙江杭州",
        owner_id=org.rep1.id,
    )
    make_customer(
        session, org.head, "宁波无电话", grade="B", tags=["港口"], region="浙江宁波", owner_id=org.rep1.id
    )
    make_customer(session, org.rep_b, "华南港口", phone="13800000004", tags=["港口"])
    segment = create_segment(
        session,
        actor=org.head,
        data=SegmentIn(name="浙江港口", tags=["港口"], regions=["浙江"], shared=True),
        now=NOW,
    )
    with pytest.raises(DomainError):
        create_campaign(
            session,
            actor=org.head,
            data=CampaignIn(name="x", channel="sms", segment_id=segment.id, template="{price}"),
            now=NOW,
        )  # type: ignore[arg-type]
    campaign = create_campaign(
        session,
        actor=org.head,
        data=CampaignIn(
            name="春季促销",
            channel="sms",
            segment_id=segment.id,
            template="{contact}您好,{customer}专享春季优惠",
        ),  # type: ignore[arg-type]
        now=NOW,
    )
    send_campaign(session, actor=org.head, campaign_id=campaign.id, senders=Senders.outbox(tmp_path), now=NOW)
    assert campaign.status == "sent" and campaign.counts == {"outbox": 1, "no_address": 1}
    (line,) = (tmp_path / "sms-outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["body"] == "宁波港机械联系人您好,宁波港机械专享春季优惠"
    with pytest.raises(Conflict):
        send_campaign(
            session, actor=org.head, campaign_id=campaign.id, senders=Senders.outbox(tmp_path), now=NOW
        )

    device = Device(serial="S", division_id=org.a.id, rep_user_id=org.rep1.id)
    session.add(device)
    session.flush()
    for i, (days, direction, body) in enumerate(
        ((1, "outgoing", "跟进"), (3, "incoming", "请问优惠到什么时候?"), (9, "incoming", "晚回复"))
    ):
        session.add(
            CapturedSms(
                device_id=device.id,
                division_id=org.a.id,
                rep_user_id=org.rep1.id,
                source_key=f"k{i}",
                source_id=i,
                number_e164="+8613800000001",
                number_kind="mobile",
                occurred_at=NOW + timedelta(days=days),
                direction=direction,
                type="inbox",
                type_code=1,
                body=body,
            )
        )
    session.commit()
    assert link_campaign_responses(session, NOW + timedelta(days=10)) == 1
    assert link_campaign_responses(session, NOW + timedelta(days=11)) == 0
    recipient = session.exec(select(CampaignRecipient).where(CampaignRecipient.customer_id == hit.id)).one()
    assert recipient.responded_at == NOW + timedelta(days=3)
    event = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "campaign_response")).one()
    assert event.customer_id == hit.id and "请问优惠到什么时候" in event.summary


def test_rep_campaign_reaches_only_what_the_rep_sees(session: Session, org: Org, tmp_path: Path) -> None:
    make_customer(session, org.rep1, "我的", phone="13800000001", tags=["x"])
    make_customer(session, org.rep2, "别人的", phone="13800000002", tags=["x"])
    segment = create_segment(session, actor=org.rep1, data=SegmentIn(name="x", tags=["x"]), now=NOW)
    campaign = create_campaign(
        session,
        actor=org.rep1,
        data=CampaignIn(name="c", channel="sms", segment_id=segment.id, template="hi"),
        now=NOW,
    )  # type: ignore[arg-type]
    send_campaign(session, actor=org.rep1, campaign_id=campaign.id, senders=Senders.outbox(tmp_path), now=NOW)
    assert campaign.counts == {"outbox": 1}


def test_script_library_search(session: Session, org: Org) -> None:
    for title, category, body, tags in (
        ("价格异议", "异议处理", "客户说太贵时: 先认同, 再讲总拥有成本……", ["价格", "异议"]),
        ("开场白(陌拜)", "开场白", "您好, 我是某某公司的……", ["陌拜"]),
        ("促成: 限时优惠", "促成交易", "本月签约可享优惠……", ["价格", "促成"]),
    ):
        save_script(
            session,
            actor=org.admin,
            data=ScriptIn(title=title, category=category, body=body, tags=tags),
            now=NOW,
        )
    with pytest.raises(Forbidden):
        save_script(session, actor=org.rep1, data=ScriptIn(title="x", body="y"), now=NOW)

    def titles(**kw: object) -> list[str]:
        return sorted(s.title for s in search_scripts(session, actor=org.rep1, **kw).items)  # type: ignore[arg-type]

    assert titles(q="优惠") == ["促成: 限时优惠"]
    assert titles(tag="价格") == ["价格异议", "促成: 限时优惠"]
    assert titles(category="开场白") == ["开场白(陌拜)"]
    assert titles(q="客户 成本") == ["价格异议"]
    assert search_scripts(session, actor=org.rep_b).items == []


def test_campaign_api(client, factory, session: Session, org: Org, settings) -> None:  # type: ignore[no-untyped-def]
    make_customer(session, org.rep1, "客户", email="li@kehu.cn", grade="A")
    headers = factory.headers(org.head)
    segment = client.post(
        "/api/v1/segments", json={"name": "A级", "grades": ["A"], "shared": True}, headers=headers
    ).json()
    campaign = client.post(
        "/api/v1/campaigns",
        json={
            "name": "邮件",
            "channel": "email",
            "segment_id": segment["id"],
            "subject": "新品",
            "template": "{customer}: 新品发布",
        },
        headers=headers,
    ).json()
    sent = client.post(f"/api/v1/campaigns/{campaign['id']}/send", headers=headers)
    assert sent.status_code == 200 and sent.json()["counts"] == {"outbox": 1}
    assert (settings.data_dir / "outbox" / "email-outbox.jsonl").exists()
    assert (
        client.post(
            "/api/v1/scripts", json={"title": "t", "body": "b"}, headers=factory.headers(org.rep1)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/scripts", json={"title": "t", "body": "b", "tags": ["x"]}, headers=headers
        ).status_code
        == 201
    )
    assert [
        s["title"]
        for s in client.get("/api/v1/scripts?tag=x", headers=factory.headers(org.rep1)).json()["items"]
    ] == ["t"]
