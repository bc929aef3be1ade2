"""Errors a service raises for reasons the user can act on; the server turns them into 4xx JSON.

Each error carries, besides the English ``detail`` for API clients, a stable ``code`` and the
``params`` its message needs, so that a page can say it in the user's language. Every code is
listed in ``CODES`` with the names of its parameters; the dashboard's catalogues hold a message
per code (``err.<code>``), and a test checks both against each other and against every raise.
Errors raised without a code get their class's generic one, whose message quotes ``detail``.
"""

from __future__ import annotations

from typing import Any

# Generic codes of the four classes (for raises that give none): the message quotes the detail.
GENERIC_CODES: dict[str, tuple[str, ...]] = {
    "invalid": ("detail",),
    "not_found": ("detail",),
    "conflict": ("detail",),
    "forbidden": ("detail",),
}

# code -> names of its parameters
CODES: dict[str, tuple[str, ...]] = {
    **GENERIC_CODES,
    "request.invalid": ("field", "detail"),
    "request.out_of_range": (),
    "request.nul_character": (),
    "request.missing_reference": (),
    "http.413": (),
    "activity.due_required": (),
    "activity.not_found": (),
    "activity.not_open": ("status",),
    "activity.not_yours": (),
    "activity.plan_for_others_forbidden": (),
    "activity.target_not_found": ("target",),
    "activity.targets_cross_division": (),
    "campaign.already_sent": (),
    "campaign.not_found": (),
    "campaign.template_placeholders": (),
    "contact.not_found": (),
    "customer.claim_first": (),
    "customer.duplicate": ("ids", "reasons"),
    "customer.not_found": (),
    "customer.owner_invalid": (),
    "customer.placement_managers_only": (),
    "daily_report.author_only": (),
    "daily_report.not_found": (),
    "daily_report.own_only": (),
    "daily_report.submitted": (),
    "division.create_forbidden": (),
    "division.exists": (),
    "division.none": (),
    "division.not_administered": (),
    "division.not_found": (),
    "division.not_own": (),
    "division.required": (),
    "document.customer_not_yours": (),
    "document.installments_total": ("total",),
    "document.not_found": (),
    "document.not_yours": (),
    "document.opportunity_not_found": (),
    "document.quote_no_installments": (),
    "document.source_not_found": (),
    "document.status_final": ("kind", "status"),
    "document.status_same": ("kind", "status"),
    "document.status_unknown": ("kind", "allowed"),
    "email.invalid": ("value",),
    "export.format": (),
    "field.empty": ("field",),
    "geo.invalid_coordinates": ("reason",),
    "geo.lat_lon_pair": (),
    "grade.list_invalid": (),
    "grade.still_held": ("counts",),
    "grade.unknown": ("grade", "allowed"),
    "import.csv_encoding": (),
    "import.file_type": (),
    "import.no_header": (),
    "import.no_such_column": ("header",),
    "import.owner_invalid": (),
    "import.required_column_missing": ("field",),
    "import.too_many_rows": ("max",),
    "import.unknown_field": ("field", "known"),
    "import.xlsx_unreadable": ("reason",),
    "lead.already_converted": (),
    "lead.convert_with_action": (),
    "lead.disqualified_no_convert": (),
    "lead.disqualify_reason_required": (),
    "lead.not_found": (),
    "lead.owner_or_manager": (),
    "lead.reps_own_only": (),
    "leaderboard.unknown_sort": ("allowed",),
    "lost_reason.duplicate": (),
    "lost_reason.length": (),
    "lost_reason.other_implicit": (),
    "lost_reason.required": (),
    "lost_reason.unknown": (),
    "merge.cross_division": (),
    "merge.need_others": (),
    "opportunity.customer_of_another_rep": (),
    "opportunity.lost_reason_only_lost": (),
    "opportunity.not_found": (),
    "opportunity.owner_or_manager": (),
    "opportunity.reps_own_only": (),
    "opportunity.same_stage": (),
    "opportunity.stage_not_in_pipeline": (),
    "paging.invalid_cursor": (),
    "paging.limit_range": ("max",),
    "paging.unknown_sort": ("allowed",),
    "phone.not_found": (),
    "pipeline.name_taken": (),
    "pipeline.not_found": (),
    "pipeline.stage_kinds_required": (),
    "pool.assign.target_invalid": (),
    "pool.claim.capacity": ("capacity",),
    "pool.claim.cooldown": ("until",),
    "pool.claim.daily_cap": ("cap",),
    "pool.claim.mine": (),
    "pool.claim.raced": (),
    "pool.claim.role": ("pool",),
    "pool.claim.taken": (),
    "pool.name_required": (),
    "pool.name_taken": (),
    "pool.not_found": (),
    "pool.other_division": (),
    "pool.release.already_in_pool": (),
    "pool.release.note_required": (),
    "reassign.target_choice": (),
    "reassign.target_invalid": ("user_id",),
    "role.division_mismatch": ("role",),
    "role.division_required": ("role",),
    "role.grant_forbidden": ("role",),
    "role.managers_only": (),
    "role.no_division_allowed": ("role",),
    "role.sysadmin_no_sales": (),
    "script.not_found": (),
    "segment.not_found": (),
    "sla.not_found": (),
    "sla.response_after_resolve": (),
    "stage.fields_empty": (),
    "stage.flags_locked": (),
    "stage.holds_opportunities": ("count", "choices"),
    "stage.move_to_kind": ("kind",),
    "stage.name_duplicate": (),
    "stage.not_found": (),
    "stage.order_incomplete": (),
    "stage.probability_fixed": ("stage",),
    "stage.won_and_lost": ("stage",),
    "strategy.notify_unknown": ("allowed",),
    "survey.answered": (),
    "survey.not_found": (),
    "survey.ticket_not_closed": (),
    "target.user_other_division": (),
    "ticket.assignee_invalid": (),
    "ticket.assignee_or_manager": (),
    "ticket.close_needs_resolved": (),
    "ticket.not_found": (),
    "ticket.status_conflict": ("status",),
    "user.already_frozen": (),
    "user.change_forbidden": (),
    "user.not_found": (),
    "user.not_managed": (),
    "user.self_change_forbidden": (),
    "user.self_freeze_forbidden": (),
    "user.username_taken": (),
}


class DomainError(Exception):
    status_code = 400
    generic_code = "invalid"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if status_code is not None:
            self.status_code = status_code
        if code is None:
            self.code, self.params = self.generic_code, {"detail": detail}
        else:
            self.code, self.params = code, dict(params or {})


class NotFound(DomainError):
    status_code = 404
    generic_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    generic_code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    generic_code = "forbidden"
