"""Base classes for the inputs and views of CRM services (also used as API bodies and responses)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator


class Input(BaseModel):
    """Service input: unknown fields are refused, strings are trimmed, times carry their zone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _zoned(cls, value: object) -> object:
        """A time without a zone is ambiguous (the company's? UTC?): refused rather than guessed."""
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("a time needs its zone, e.g. 2024-05-01T10:00:00+08:00 or 2024-05-01T02:00:00Z")
        return value


class View(BaseModel):
    model_config = ConfigDict(from_attributes=True)
