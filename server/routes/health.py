from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server.db import database_reachable

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    ok = database_reachable(request.app.state.engine)
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": ok}, status_code=200 if ok else 503
    )
