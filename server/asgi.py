"""ASGI entry point for ``uvicorn server.asgi:app`` (used by ``fieldcrm serve --workers N``)."""

from server.app import served_app

app = served_app()
