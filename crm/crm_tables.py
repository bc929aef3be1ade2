"""Imports every table of the CRM domain modules so that metadata (and Alembic) sees them."""

from crm import notifications, ownership, pool

__all__ = ["notifications", "ownership", "pool"]
