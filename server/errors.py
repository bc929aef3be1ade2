"""Every error leaves as JSON ``{"detail": ..., "field": ...}``; a 500 is logged as a bug.

Domain and validation errors also carry ``code`` and ``params`` (see ``crm.errors.CODES``), from
which the dashboard words the message in the user's language; ``detail`` stays English.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_event(logger, "http.error", logging.ERROR, path=request.url.path, error=repr(exc))
        logger.exception("http.error.trace")
        return JSONResponse({"detail": "internal error"}, status_code=500)
