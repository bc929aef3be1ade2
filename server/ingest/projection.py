"""The timeline events of a batch's new SMS and call rows, built by the database itself.

:func:`crm.linking.event_content` says what the event of a captured row shows. Building those
events row by row in Python (a summary, a JSON document, ten values converted for the driver) cost
as much as storing the detail rows. Here one ``INSERT ... SELECT`` reads the rows just stored and
builds the same events in SQL; only the (row id, customer id) pairs travel, as one JSON parameter.
``tests/ingest/test_projection.py`` holds both ways to the same events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import TextClause, bindparam, text
from sqlmodel import Session

from crm.communications import CALL_TABLE, SMS_TABLE
from crm.linking import EVENT_KIND, SUMMARY_CHARS
from crm.types import UTCDateTime

_NUMBER = "coalesce(detail.number_e164, detail.number_raw)"


def _pairs_source(dialect: str, table: str) -> tuple[str, str]:
    """The FROM clause joining the ``:pairs`` JSON array of ``[row id, customer id]`` to the stored
    rows, and the customer id's expression."""
    if dialect == "postgresql":
        return (
            f"json_array_elements(CAST(:pairs AS json)) AS pair "
            f"JOIN {table} AS detail ON detail.id = (pair.value ->> 0)::bigint",
            "(pair.value ->> 1)::bigint",
        )
    return (
        f"json_each(:pairs) AS pair JOIN {table} AS detail ON detail.id = json_extract(pair.value, '$[0]')",
        "json_extract(pair.value, '$[1]')",
    )


def _json_object(dialect: str, fields: dict[str, str]) -> str:
    function = "json_build_object" if dialect == "postgresql" else "json_object"
    arguments = ", ".join(f"'{key}', {value}" for key, value in fields.items())
    return f"{function}({arguments})"


def _content(dialect: str, table: str) -> tuple[str, str]:
    """The summary and data expressions of ``event_content`` for SMS or call rows."""
    if table == SMS_TABLE:
        summary = f"substr(coalesce(detail.body, ''), 1, {SUMMARY_CHARS})"
        return summary, _json_object(dialect, {"direction": "detail.direction", "number": _NUMBER})
    if dialect == "postgresql":
        summary = (
            "format('%s call (%s), %s:%s', detail.direction, detail.type, detail.duration_s / 60, "
            "lpad((detail.duration_s % 60)::text, 2, '0'))"
        )
        answered = "detail.answered"
    else:
        summary = (
            "printf('%s call (%s), %d:%02d', detail.direction, detail.type, "
            "detail.duration_s / 60, detail.duration_s % 60)"
        )
        answered = "CASE WHEN detail.answered THEN json('true') ELSE json('false') END"
    data = _json_object(
        dialect,
        {
            "direction": "detail.direction",
            "number": _NUMBER,
            "type": "detail.type",
            "duration_s": "detail.duration_s",
            "answered": answered,
        },
    )
    return summary, data


@cache
def _statement(dialect: str, table: str) -> TextClause:
    if table not in (SMS_TABLE, CALL_TABLE):
        raise ValueError(f"no SQL projection for {table}")
    source, customer = _pairs_source(dialect, table)
    summary, data = _content(dialect, table)
    sql = (
        "INSERT INTO timeline_event (customer_id, division_id, occurred_at, kind, source_table, source_id, "
        "actor_user_id, summary, data, created_at) "
        f"SELECT {customer}, detail.division_id, detail.occurred_at, '{EVENT_KIND[table]}', '{table}', "
        f"detail.id, detail.rep_user_id, {summary}, {data}, :now FROM {source}"
    )
    return text(sql).bindparams(bindparam("now", type_=UTCDateTime()))


def project_rows(session: Session, table: str, pairs: Sequence[tuple[int, int]], now: datetime) -> None:
    """Insert the timeline events of stored ``table`` rows: one per ``(row id, customer id)`` pair."""
    if pairs:
        statement = _statement(session.get_bind().dialect.name, table)
        session.execute(statement, {"pairs": json.dumps(pairs), "now": now})
