"""Imports every CRM table so that metadata (and Alembic) sees the whole schema."""

from crm import audit, customers, devices, org, timeline

__all__ = ["audit", "customers", "devices", "org", "timeline"]
