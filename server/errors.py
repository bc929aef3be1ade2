"""Every error leaves as JSON ``{"detail": ..., "field": ...}``; a 500 is logged as a bug.

Domain and validation errors also carry ``code`` and ``params`` (see ``crm.errors.CODES``), from
which the dashboard words the message in the user's language; ``detail`` stays English.

Values the database refuses answer 422 rather than 500: integers past 64 bits (SQLite cannot bind
them), times past year 9999 or before year 1 once moved to UTC, text with NUL characters
(PostgreSQL), a reference to a row that does not exist. Each is logged as a warning.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm.errors import DomainError
from server.logs import get_logger, log_event

logger = get_logger("http")


def _field_of(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts)


def _message(error: dict) -> str:
    msg = error.get("msg", "invalid value")
    if error.get("type") == "json_invalid":
        ctx = error.get("ctx", {}) or {}
        return f"malformed JSON: {ctx.get('error', msg)}"
    return msg


#: SQLSTATE of a foreign-key violation, and SQLite's message for one.
_FOREIGN_KEY = ("23503", "FOREIGN KEY constraint failed")
_REFUSED = {
    "request.out_of_range": "a number or a date is out of range",
    "request.nul_character": "text must not contain NUL characters",
    "request.missing_reference": "refers to a record that does not exist",
}


def _refused(request: Request, exc: Exception, code: str) -> JSONResponse:
    log_event(logger, "http.refused_by_database", logging.WARNING, path=request.url.path, error=repr(exc)[:300])
    return JSONResponse({"detail": _REFUSED[code], "field": None, "code": code, "params": {}}, status_code=422)


def _is_foreign_key(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == _FOREIGN_KEY[0] or str(exc.orig) == _FOREIGN_KEY[1]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = _field_of(first.get("loc", ()))
        detail = _message(first) + (f" ({field})" if field else "")
        body = {
            "detail": detail,
            "field": field or None,
            "code": "request.invalid",
            "params": {"field": field, "detail": _message(first)},
            "errors": [{"field": _field_of(e.get("loc", ())), "message": _message(e)} for e in errors[:50]],
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        body = {"detail": exc.detail, "field": exc.field, "code": exc.code, "params": exc.params}
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        return _refused(request, exc, "request.out_of_range")

    @app.exception_handler(StatementError)
    async def unbindable(request: Request, exc: StatementError) -> JSONResponse:
        if isinstance(exc.orig, OverflowError):  # a time that moved to UTC leaves years 1-9999
            return _refused(request, exc, "request.out_of_range")
        return await unexpected(request, exc)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        nul = "NUL" in str(exc.orig)
        return _refused(request, exc, "request.nul_character" if nul else "request.out_of_range")

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        if _is_foreign_key(exc):
            return _refused(request, exc, "request.missing_reference")
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_event(logger, "http.error", logging.ERROR, path=request.url.path, error=repr(exc))
        logger.exception("http.error.trace")
        return JSONResponse({"detail": "internal error"}, status_code=500)
