"""Imports every table of the CRM domain modules so that metadata (and Alembic) sees them."""

from crm import (
    activities,
    leads,
    notifications,
    ownership,
    people,
    pipeline,
    pool,
    sales_docs,
    surveys,
    tickets,
)

__all__ = [
    "activities",
    "leads",
    "notifications",
    "ownership",
    "people",
    "pipeline",
    "pool",
    "sales_docs",
    "surveys",
    "tickets",
]
