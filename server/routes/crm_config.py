"""Sales configuration of a division: pipelines and stages, lost reasons, customer grades.

Everyone of the division reads it (the pipeline board and forms need it); the division's
heads and admins, and executives, change it; every change is audited. Pool rules are in
``crm_pool``, SLA policies and service strategies in ``crm_service``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from crm.grades import GradesIn, GradeView, list_grades, set_grades
from crm.lost_reasons import LostReasonsIn, LostReasonView, list_lost_reasons, set_lost_reasons
from crm.pipeline_config import (
    PipelineCreate,
    PipelineUpdate,
    PipelineView,
    StageCreate,
    StageDeleted,
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
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, client_ip

router = APIRouter(prefix="/api/v1", tags=["configuration"])


@router.get("/pipelines", response_model=list[PipelineView])
def get_pipelines(
    session: SessionDep, user: CurrentUser, division_id: int | None = None
) -> list[PipelineView]:
    return list_pipelines(session, actor=user, division_id=division_id)


@router.post("/pipelines", response_model=PipelineView, status_code=201)
def post_pipeline(
    body: PipelineCreate, request: Request, session: SessionDep, user: CurrentUser
) -> PipelineView:
    return create_pipeline(session, actor=user, data=body, now=utcnow(), ip=client_ip(request))


@router.patch("/pipelines/{pipeline_id}", response_model=PipelineView)
def patch_pipeline(
    pipeline_id: int, body: PipelineUpdate, request: Request, session: SessionDep, user: CurrentUser
) -> PipelineView:
    return update_pipeline(session, actor=user, pipeline_id=pipeline_id, data=body, ip=client_ip(request))


@router.post("/pipelines/{pipeline_id}/stages", response_model=PipelineView, status_code=201)
def post_stage(
    pipeline_id: int, body: StageCreate, request: Request, session: SessionDep, user: CurrentUser
) -> PipelineView:
    return add_stage(session, actor=user, pipeline_id=pipeline_id, data=body, ip=client_ip(request))


@router.put("/pipelines/{pipeline_id}/stage-order", response_model=PipelineView)
def put_stage_order(
    pipeline_id: int, body: StageOrder, request: Request, session: SessionDep, user: CurrentUser
) -> PipelineView:
    return reorder_stages(session, actor=user, pipeline_id=pipeline_id, data=body, ip=client_ip(request))


@router.patch("/pipeline-stages/{stage_id}", response_model=PipelineView)
def patch_stage(
    stage_id: int, body: StageUpdate, request: Request, session: SessionDep, user: CurrentUser
) -> PipelineView:
    return update_stage(session, actor=user, stage_id=stage_id, data=body, ip=client_ip(request))


@router.delete("/pipeline-stages/{stage_id}", response_model=StageDeleted)
def delete_pipeline_stage(
    stage_id: int, request: Request, session: SessionDep, user: CurrentUser, move_to: int | None = None
) -> StageDeleted:
    """Refused (409) while the stage holds opportunities, unless ``move_to`` names where they go."""
    return delete_stage(
        session, actor=user, stage_id=stage_id, move_to=move_to, now=utcnow(), ip=client_ip(request)
    )


@router.get("/divisions/{division_id}/lost-reasons", response_model=list[LostReasonView])
def get_lost_reasons(division_id: int, session: SessionDep, user: CurrentUser) -> list[LostReasonView]:
    return list_lost_reasons(session, actor=user, division_id=division_id)


@router.put("/divisions/{division_id}/lost-reasons", response_model=list[LostReasonView])
def put_lost_reasons(
    division_id: int, body: LostReasonsIn, request: Request, session: SessionDep, user: CurrentUser
) -> list[LostReasonView]:
    return set_lost_reasons(
        session, actor=user, division_id=division_id, data=body, now=utcnow(), ip=client_ip(request)
    )


@router.get("/divisions/{division_id}/grades", response_model=list[GradeView])
def get_grades(division_id: int, session: SessionDep, user: CurrentUser) -> list[GradeView]:
    return list_grades(session, actor=user, division_id=division_id)


@router.put("/divisions/{division_id}/grades", response_model=list[GradeView])
def put_grades(
    division_id: int, body: GradesIn, request: Request, session: SessionDep, user: CurrentUser
) -> list[GradeView]:
    pairs = [(g.code, g.label) for g in body.grades]
    set_grades(session, actor=user, division_id=division_id, grades=pairs, ip=client_ip(request))
    return list_grades(session, actor=user, division_id=division_id)
