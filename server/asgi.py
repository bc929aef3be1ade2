"""ASGI entry point for ``uvicorn server.asgi:app`` (used by ``fieldcrm serve --workers N``)."""

from server.app import create_app

app = create_app()
