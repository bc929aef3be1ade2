"""``GET /locale/errors.json?lang=``: the message of every service error code in one language.

The shared page script fetches it the first time an API call fails, and words the error from the
answer's ``code`` and ``params`` (``detail`` is the English fallback)."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dashboard.i18n import error_messages, normalise_locale

router = APIRouter(include_in_schema=False)


@lru_cache
def _body(locale: str) -> tuple[bytes, str]:
    body = json.dumps(error_messages(locale), ensure_ascii=False, sort_keys=True).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@router.get("/locale/errors.json")
def error_catalogue(request: Request, lang: str | None = Query(default=None, max_length=20)) -> Response:
    body, etag = _body(normalise_locale(lang))
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
