"""Structured agent logs: one line per event, dotted names (``agent.sync.done``), key=value fields."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

logger = logging.getLogger("fieldcrm.agent")


class _KeyValue(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        parts = [self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), record.levelname.lower(), record.getMessage()]
        parts += [f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in fields.items()]
        return " ".join(parts)


def configure(level: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KeyValue())
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields})
