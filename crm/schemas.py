"""Base classes for the inputs and views of CRM services (also used as API bodies and responses)."""

from pydantic import BaseModel, ConfigDict


class Input(BaseModel):
    """Service input: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class View(BaseModel):
    model_config = ConfigDict(from_attributes=True)
