"""fieldcrm location services: pure functions over plain data (no DB, no HTTP, no clock).

Modules (import them directly):

* :mod:`lbs.points` – ``Point``, ``Fix`` and time validation
* :mod:`lbs.geo` – haversine, bearing, destination, local metric projection
* :mod:`lbs.coords` – WGS-84 ↔ GCJ-02 ↔ BD-09
* :mod:`lbs.hours` – working-hours windows
* :mod:`lbs.filtering` – bad-fix filtering with per-fix status
* :mod:`lbs.track`, :mod:`lbs.stops`, :mod:`lbs.simplify`, :mod:`lbs.trajectory` – day analysis
* :mod:`lbs.checkin`, :mod:`lbs.visits` – check-in verification, visit matching, anomalies
* :mod:`lbs.cells`, :mod:`lbs.nearby` – SQL cell keys and the in-memory nearest index
* :mod:`lbs.dispatch` – ranking reps for a request
* :mod:`lbs.routing` – day route planning (OR-Tools / VROOM), :mod:`lbs.osrm` matrix client
* :mod:`lbs.plan_actual` – planned route vs what happened
* :mod:`lbs.simulate`, :mod:`lbs.gpx`, :mod:`lbs.evaluate` – simulated days, GPX reading, stop scoring

Errors are subclasses of :class:`lbs.errors.LbsError` (a ``ValueError``) with a ``field``.
See docs/lbs.md.
"""
