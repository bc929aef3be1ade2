"""Server side of capture: record batches from the device agent through a pipeline of small steps
(``pipeline.py``), recordings (``recordings.py``), device health (``device_status.py``).
See docs/ingestion.md for the API contract.
"""
