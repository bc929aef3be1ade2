"""Imports every table of the CRM domain modules so that metadata (and Alembic) sees them."""

from crm import ownership, pool

__all__ = ["ownership", "pool"]
