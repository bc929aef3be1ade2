"""Imports every table of the CRM domain modules so that metadata (and Alembic) sees them."""

from crm import (
    activities,
    campaigns,
    daily_reports,
    knowledge,
    leads,
    lost_reasons,
    notifications,
    ownership,
    people,
    pipeline,
    pool,
    sales_docs,
    surveys,
    targets,
    tickets,
)

__all__ = [
    "activities",
    "campaigns",
    "daily_reports",
    "knowledge",
    "leads",
    "lost_reasons",
    "notifications",
    "ownership",
    "people",
    "pipeline",
    "pool",
    "sales_docs",
    "surveys",
    "targets",
    "tickets",
]
