"""Sales pipelines and their stages (with default probabilities), opportunities and stage history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from crm.money import MONEY, ZERO
from crm.types import UTCDateTime

DEFAULT_STAGES: tuple[tuple[str, int, bool, bool], ...] = (
    # name, probability %, won, lost
    ("初步接洽", 10, False, False),
    ("需求确认", 25, False, False),
    ("方案报价", 50, False, False),
    ("商务谈判", 75, False, False),
    ("赢单", 100, True, False),
    ("输单", 0, False, True),
)


class Pipeline(SQLModel, table=True):
    __tablename__ = "pipeline"
    __table_args__ = (UniqueConstraint("division_id", "name", name="uq_pipeline_division_name"),)

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    name: str = Field(max_length=100)
    is_default: bool = False


class PipelineStage(SQLModel, table=True):
    __tablename__ = "pipeline_stage"

    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    name: str = Field(max_length=50)
    position: int
    probability: int = Field(description="Default win probability in percent.")
    is_won: bool = False
    is_lost: bool = False
    retired_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="Deleted from the pipeline; kept for the history."
    )


class OpportunityStatus(StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class Opportunity(SQLModel, table=True):
    __tablename__ = "opportunity"
    __owner_column__ = "owner_id"
    __table_args__ = (
        Index("ix_opportunity_division_status", "division_id", "status", "id"),
        Index("ix_opportunity_owner_status", "owner_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id")
    owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    pipeline_id: int = Field(foreign_key="pipeline.id")
    stage_id: int = Field(foreign_key="pipeline_stage.id", index=True)
    name: str = Field(max_length=200)
    amount: Decimal = Field(default=ZERO, sa_type=MONEY)
    probability: int = 0
    expected_close: date | None = None
    status: OpportunityStatus = Field(default=OpportunityStatus.open, sa_type=String(8))
    lost_reason: str = Field(default="", max_length=200)
    lost_reason_id: int | None = Field(
        default=None, foreign_key="lost_reason.id", description="NULL when lost for another reason (text)."
    )
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class StageChange(SQLModel, table=True):
    """Who moved an opportunity from which stage to which, when (``from_stage_id`` NULL: created)."""

    __tablename__ = "opportunity_stage_change"

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    from_stage_id: int | None = Field(default=None, foreign_key="pipeline_stage.id")
    to_stage_id: int = Field(foreign_key="pipeline_stage.id")
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime)


def default_pipeline(session: Session, division_id: int) -> Pipeline:
    """The division's default pipeline, created with the standard stages on first use."""
    pipeline = session.exec(
        select(Pipeline).where(Pipeline.division_id == division_id, Pipeline.is_default)
    ).first()
    if pipeline is None:
        pipeline = Pipeline(division_id=division_id, name="默认销售流程", is_default=True)
        session.add(pipeline)
        session.flush()
        add_stages(session, pipeline, DEFAULT_STAGES)
    return pipeline


def add_stages(
    session: Session, pipeline: Pipeline, stages: tuple[tuple[str, int, bool, bool], ...] | list
) -> list[PipelineStage]:
    rows = [
        PipelineStage(
            pipeline_id=pipeline.id,  # type: ignore[arg-type]
            division_id=pipeline.division_id,
            name=name,
            position=i,
            probability=probability,
            is_won=won,
            is_lost=lost,
        )
        for i, (name, probability, won, lost) in enumerate(stages)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def stages_of(session: Session, pipeline_id: int) -> list[PipelineStage]:
    """The pipeline's stages in order (without deleted ones)."""
    return list(
        session.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == pipeline_id, PipelineStage.retired_at.is_(None))
            .order_by(PipelineStage.position, PipelineStage.id)
        )
    )
