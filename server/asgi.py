"""ASGI entry point for ``uvicorn server.asgi:app`` (used by ``fieldcrm serve --workers N``).

Once the application is built, everything it holds (modules, routes, schemas, SQLAlchemy
metadata) lives as long as the process: ``gc.freeze()`` moves it out of the collector's
generations, so full collections no longer walk the whole application heap on every few
thousand allocations of a large batch (scripts/bench_ingest.py).
"""

import gc

from server.app import create_app

app = create_app()
gc.collect()
gc.freeze()
