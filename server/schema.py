"""Every table of the application, imported in one place for Alembic and the test fixtures.

A module that defines tables adds one import line here.
"""

from sqlmodel import SQLModel

import crm.communications
import crm.crm_tables
import crm.locations
import crm.models  # noqa: F401
import server.agent_commands.models
import server.auth.models
import server.scheduler_lease  # noqa: F401

metadata = SQLModel.metadata
