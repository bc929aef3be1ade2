"""Location services on top of the pure ``lbs`` package: ingestion, live positions, days,
check-ins, nearby customers, dispatch, route plans, geocoding and retention (docs/locations.md)."""
