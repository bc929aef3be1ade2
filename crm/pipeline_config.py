"""Configuring pipelines (sales ops): create and rename pipelines, choose the division's default,
add, rename, reorder and delete stages with their default probability and won/lost flags.

A pipeline always keeps at least one open, one won and one lost stage; a won stage has
probability 100 and a lost one 0. A stage that holds opportunities is not deleted unless
they are moved to another stage of the same kind (open, won, lost) of the pipeline; a
deleted stage is retired, so that the stage history keeps its name. Every change is
audited (``config.pipeline.*``, ``config.stage.*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import func, update
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.actors import acting_division, require_manager
from crm.bulk import insert_ids, insert_rows
from crm.config_audit import audit_config
from crm.errors import Conflict, DomainError, NotFound
from crm.opportunities import StageView
from crm.org import User
from crm.pipeline import (
    DEFAULT_STAGES,
    Opportunity,
    Pipeline,
    PipelineStage,
    StageChange,
    add_stages,
    default_pipeline,
    stages_of,
)
from crm.schemas import Input, View
from crm.timeline import TimelineEvent


class StageIn(Input):
    name: str = Field(min_length=1, max_length=50)
    probability: int = Field(ge=0, le=100, description="Default win probability in percent.")
    is_won: bool = False
    is_lost: bool = False


class PipelineCreate(Input):
    division_id: int | None = Field(default=None, description="Executives name the division.")
    name: str = Field(min_length=1, max_length=100)
    stages: list[StageIn] | None = Field(
        default=None, min_length=3, max_length=30, description="In order; none: the standard stages."
    )


class PipelineUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    is_default: Literal[True] | None = Field(default=None, description="Make it the division's default.")


class StageCreate(StageIn):
    position: int | None = Field(
        default=None, ge=0, description="Index among the stages; none: after the last open stage."
    )


class StageUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    probability: int | None = Field(default=None, ge=0, le=100)
    is_won: bool | None = None
    is_lost: bool | None = None


class StageOrder(Input):
    stage_ids: list[int] = Field(min_length=1, max_length=100, description="Every stage, in the new order.")


class PipelineView(View):
    id: int
    division_id: int
    name: str
    is_default: bool
    stages: list[StageView]


class StageDeleted(View):
    stage_id: int
    moved: int


def _kind(stage: PipelineStage | StageIn) -> str:
    return "won" if stage.is_won else "lost" if stage.is_lost else "open"


def check_stages(stages: Sequence[PipelineStage | StageIn]) -> None:
    """The rules every pipeline keeps (see the module docstring)."""
    for stage in stages:
        if stage.is_won and stage.is_lost:
            raise DomainError(
                f"stage {stage.name!r} cannot be both won and lost",
                field="stages",
                code="stage.won_and_lost",
                params={"stage": stage.name},
            )
        if (stage.is_won and stage.probability != 100) or (stage.is_lost and stage.probability != 0):
            raise DomainError(
                f"stage {stage.name!r}: a won stage has probability 100, a lost one 0",
                field="probability",
                code="stage.probability_fixed",
                params={"stage": stage.name},
            )
    names = [s.name.strip().casefold() for s in stages]
    if len(set(names)) != len(names):
        raise DomainError(
            "stage names must be different within a pipeline", field="name", code="stage.name_duplicate"
        )
    kinds = {_kind(s) for s in stages}
    if kinds != {"open", "won", "lost"}:
        raise DomainError(
            "a pipeline needs at least one open, one won and one lost stage",
            field="stages",
            code="pipeline.stage_kinds_required",
        )


def pipeline_view(session: Session, pipeline: Pipeline) -> PipelineView:
    stages = [StageView.model_validate(s) for s in stages_of(session, pipeline.id)]  # type: ignore[arg-type]
    return PipelineView(
        id=pipeline.id,  # type: ignore[arg-type]
        division_id=pipeline.division_id,
        name=pipeline.name,
        is_default=pipeline.is_default,
        stages=stages,
    )


def list_pipelines(session: Session, *, actor: User, division_id: int | None = None) -> list[PipelineView]:
    """Pipelines the actor sees (the own division's default exists from then on), with their stages."""
    if actor.division_id is not None:
        default_pipeline(session, actor.division_id)
        session.commit()
    stmt = scope(select(Pipeline), actor, Pipeline)
    if division_id is not None:
        stmt = stmt.where(Pipeline.division_id == division_id)
    rows = session.exec(stmt.order_by(Pipeline.division_id, Pipeline.is_default.desc(), Pipeline.id))
    return [pipeline_view(session, p) for p in rows]


def _managed_pipeline(session: Session, actor: User, pipeline_id: int) -> Pipeline:
    pipeline = get_visible(session, actor, Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("no such pipeline", field="pipeline_id", code="pipeline.not_found")
    require_manager(actor, pipeline.division_id)
    return pipeline


def _managed_stage(session: Session, actor: User, stage_id: int) -> tuple[Pipeline, PipelineStage]:
    stage = get_visible(session, actor, PipelineStage, stage_id)
    if stage is None or stage.retired_at is not None:
        raise NotFound("no such stage", field="stage_id", code="stage.not_found")
    return _managed_pipeline(session, actor, stage.pipeline_id), stage


def _name_free(session: Session, division_id: int, name: str, pipeline_id: int | None = None) -> None:
    clash = session.exec(
        select(Pipeline.id).where(Pipeline.division_id == division_id, Pipeline.name == name)
    ).first()
    if clash is not None and clash != pipeline_id:
        raise Conflict("the division has a pipeline of this name", field="name", code="pipeline.name_taken")


def _stage_detail(stage: PipelineStage | StageIn) -> dict[str, Any]:
    return {
        "name": stage.name,
        "probability": stage.probability,
        "is_won": stage.is_won,
        "is_lost": stage.is_lost,
    }


def _renumber(session: Session, stages: list[PipelineStage]) -> None:
    for position, stage in enumerate(stages):
        if stage.position != position:
            stage.position = position
            session.add(stage)


def create_pipeline(
    session: Session, *, actor: User, data: PipelineCreate, now: datetime, ip: str = ""
) -> PipelineView:
    """A new (not default) pipeline of the division, with the given stages or the standard ones."""
    division_id = acting_division(session, actor, data.division_id)
    require_manager(actor, division_id)
    stages = data.stages or [
        StageIn(name=name, probability=p, is_won=won, is_lost=lost) for name, p, won, lost in DEFAULT_STAGES
    ]
    check_stages(stages)
    default_pipeline(session, division_id)
    _name_free(session, division_id, data.name)
    pipeline = Pipeline(division_id=division_id, name=data.name)
    session.add(pipeline)
    session.flush()
    add_stages(session, pipeline, [(s.name, s.probability, s.is_won, s.is_lost) for s in stages])
    audit_config(
        session,
        actor=actor,
        action="pipeline.create",
        target_type="pipeline",
        target_id=pipeline.id,  # type: ignore[arg-type]
        division_id=division_id,
        detail={"name": pipeline.name, "stages": [_stage_detail(s) for s in stages], "at": now.isoformat()},
        ip=ip,
    )
    session.commit()
    return pipeline_view(session, pipeline)


def update_pipeline(
    session: Session, *, actor: User, pipeline_id: int, data: PipelineUpdate, ip: str = ""
) -> PipelineView:
    """Rename, or make the division's default (new opportunities and reports use it)."""
    pipeline = _managed_pipeline(session, actor, pipeline_id)
    before = {"name": pipeline.name, "is_default": pipeline.is_default}
    if data.name is not None and data.name != pipeline.name:
        _name_free(session, pipeline.division_id, data.name, pipeline.id)
        pipeline.name = data.name
    if data.is_default and not pipeline.is_default:
        session.execute(
            update(Pipeline)
            .where(Pipeline.division_id == pipeline.division_id, Pipeline.is_default)
            .values(is_default=False)
        )
        pipeline.is_default = True
    session.add(pipeline)
    audit_config(
        session,
        actor=actor,
        action="pipeline.update",
        target_type="pipeline",
        target_id=pipeline_id,
        division_id=pipeline.division_id,
        detail={"before": before, "after": {"name": pipeline.name, "is_default": pipeline.is_default}},
        ip=ip,
    )
    session.commit()
    return pipeline_view(session, pipeline)


def add_stage(
    session: Session, *, actor: User, pipeline_id: int, data: StageCreate, ip: str = ""
) -> PipelineView:
    pipeline = _managed_pipeline(session, actor, pipeline_id)
    stages = stages_of(session, pipeline_id)
    check_stages([*stages, data])
    if data.position is None:
        open_positions = [i for i, s in enumerate(stages) if _kind(s) == "open"]
        position = open_positions[-1] + 1 if open_positions else 0
    else:
        position = min(data.position, len(stages))
    stage = PipelineStage(
        pipeline_id=pipeline_id,
        division_id=pipeline.division_id,
        name=data.name,
        position=position,
        probability=data.probability,
        is_won=data.is_won,
        is_lost=data.is_lost,
    )
    session.add(stage)
    _renumber(session, [*stages[:position], stage, *stages[position:]])
    session.flush()
    audit_config(
        session,
        actor=actor,
        action="stage.create",
        target_type="pipeline_stage",
        target_id=stage.id,  # type: ignore[arg-type]
        division_id=pipeline.division_id,
        detail={"pipeline_id": pipeline_id, "position": position, **_stage_detail(data)},
        ip=ip,
    )
    session.commit()
    return pipeline_view(session, pipeline)


def _holds(session: Session, stage_id: int) -> int:
    """Opportunities in the stage (of any owner: the managers of the division act for all)."""
    return session.scalar(select(func.count()).where(Opportunity.stage_id == stage_id)) or 0


def update_stage(
    session: Session, *, actor: User, stage_id: int, data: StageUpdate, ip: str = ""
) -> PipelineView:
    """Rename, change the default probability (opportunities keep theirs), or the won/lost flags
    (only of a stage without opportunities: their status would no longer match)."""
    pipeline, stage = _managed_stage(session, actor, stage_id)
    before = _stage_detail(stage)
    changes = data.model_dump(exclude_unset=True)
    if any(changes.get(key) is None for key in changes):
        raise DomainError(
            "a stage's name, probability and flags cannot be empty", field="stage", code="stage.fields_empty"
        )
    flags_change = any(changes.get(key, before[key]) != before[key] for key in ("is_won", "is_lost"))
    if flags_change and _holds(session, stage_id):
        raise Conflict(
            "the stage holds opportunities; move them before changing won/lost",
            field="stage_id",
            code="stage.flags_locked",
        )
    candidate = StageIn.model_validate(before | changes)
    check_stages([candidate if s.id == stage_id else s for s in stages_of(session, pipeline.id)])  # type: ignore[arg-type]
    for key, value in changes.items():
        setattr(stage, key, value)
    session.add(stage)
    audit_config(
        session,
        actor=actor,
        action="stage.update",
        target_type="pipeline_stage",
        target_id=stage_id,
        division_id=pipeline.division_id,
        detail={"pipeline_id": pipeline.id, "before": before, "after": _stage_detail(stage)},
        ip=ip,
    )
    session.commit()
    return pipeline_view(session, pipeline)


def reorder_stages(
    session: Session, *, actor: User, pipeline_id: int, data: StageOrder, ip: str = ""
) -> PipelineView:
    pipeline = _managed_pipeline(session, actor, pipeline_id)
    stages = {s.id: s for s in stages_of(session, pipeline_id)}
    if sorted(data.stage_ids) != sorted(stages):
        raise DomainError(
            "name every stage of the pipeline exactly once", field="stage_ids", code="stage.order_incomplete"
        )
    before = [s.id for s in sorted(stages.values(), key=lambda s: s.position)]
    _renumber(session, [stages[i] for i in data.stage_ids])
    audit_config(
        session,
        actor=actor,
        action="stage.reorder",
        target_type="pipeline",
        target_id=pipeline_id,
        division_id=pipeline.division_id,
        detail={"before": before, "after": data.stage_ids},
        ip=ip,
    )
    session.commit()
    return pipeline_view(session, pipeline)


def _move_opportunities(
    session: Session, actor: User, source: PipelineStage, target: PipelineStage, now: datetime
) -> int:
    """Every opportunity of ``source`` to ``target``, each with its stage history and timeline event."""
    opportunities = session.exec(select(Opportunity).where(Opportunity.stage_id == source.id)).all()
    if not opportunities:
        return 0
    changes = [
        {
            "opportunity_id": o.id,
            "division_id": o.division_id,
            "from_stage_id": source.id,
            "to_stage_id": target.id,
            "actor_user_id": actor.id,
            "occurred_at": now,
        }
        for o in opportunities
    ]
    change_ids = insert_ids(session, StageChange, changes)
    summary = f"{source.name} → {target.name}(阶段「{source.name}」已删除)"
    insert_rows(
        session,
        TimelineEvent,
        [
            {
                "customer_id": o.customer_id,
                "division_id": o.division_id,
                "occurred_at": now,
                "kind": "stage_change",
                "source_table": StageChange.__tablename__,
                "source_id": change_id,
                "actor_user_id": actor.id,
                "summary": f"商机「{o.name}」{summary}"[:500],
                "data": {"opportunity_id": o.id, "from": source.id, "to": target.id, "amount": str(o.amount)},
                "created_at": now,
            }
            for o, change_id in zip(opportunities, change_ids, strict=True)
        ],
    )
    session.execute(
        update(Opportunity)
        .where(Opportunity.stage_id == source.id)
        .values(stage_id=target.id, probability=target.probability, updated_at=now)
    )
    return len(opportunities)


def delete_stage(
    session: Session, *, actor: User, stage_id: int, move_to: int | None, now: datetime, ip: str = ""
) -> StageDeleted:
    """Delete a stage; one that holds opportunities is refused unless ``move_to`` names the stage
    of the same pipeline and kind (open, won, lost) they move to."""
    pipeline, stage = _managed_stage(session, actor, stage_id)
    stages = stages_of(session, pipeline.id)  # type: ignore[arg-type]
    remaining = [s for s in stages if s.id != stage_id]
    check_stages(remaining)
    held = _holds(session, stage_id)
    target = next((s for s in remaining if s.id == move_to), None)
    if move_to is not None and (target is None or _kind(target) != _kind(stage)):
        raise DomainError(
            f"move the opportunities to another {_kind(stage)} stage of this pipeline",
            field="move_to",
            code="stage.move_to_kind",
            params={"kind": _kind(stage)},
        )
    if held and target is None:
        choices = ", ".join(f"{s.id} {s.name}" for s in remaining if _kind(s) == _kind(stage))
        raise Conflict(
            f"{held} opportunities are in this stage; move them with move_to, one of: {choices}",
            field="move_to",
            code="stage.holds_opportunities",
            params={"count": held, "choices": choices},
        )
    moved = _move_opportunities(session, actor, stage, target, now) if target is not None else 0
    stage.retired_at = now
    session.add(stage)
    _renumber(session, remaining)
    audit_config(
        session,
        actor=actor,
        action="stage.delete",
        target_type="pipeline_stage",
        target_id=stage_id,
        division_id=pipeline.division_id,
        detail={"pipeline_id": pipeline.id, **_stage_detail(stage), "moved": moved, "moved_to": move_to},
        ip=ip,
    )
    session.commit()
    return StageDeleted(stage_id=stage_id, moved=moved)
