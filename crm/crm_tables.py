"""Imports every table of the CRM domain modules so that metadata (and Alembic) sees them."""

from crm import (
    activities,
    daily_reports,
    leads,
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
    "daily_reports",
    "leads",
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
