"""All CRM routes, mounted as one router (each domain keeps its own module)."""

from fastapi import APIRouter

from server.routes import (
    crm_campaigns,
    crm_config,
    crm_customers,
    crm_io,
    crm_people,
    crm_pipeline,
    crm_pool,
    crm_reports,
    crm_sales,
    crm_service,
)

router = APIRouter()
for module in (
    crm_customers,
    crm_pool,
    crm_pipeline,
    crm_sales,
    crm_people,
    crm_service,
    crm_io,
    crm_reports,
    crm_campaigns,
    crm_config,
):
    router.include_router(module.router)
