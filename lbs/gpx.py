"""Read track points from GPX 1.0/1.1 text into fixes (for evaluation and imports).

Points without a ``<time>`` cannot be placed in a day and are skipped; ``hdop`` and
other extensions are ignored. Python's expat refuses entity-expansion attacks, but
cap the input size before calling this on untrusted uploads.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from lbs.errors import LbsError
from lbs.points import Fix


class InvalidGpx(LbsError):
    """Not well-formed GPX."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_gpx(text: str | bytes, source: str = "gpx") -> list[Fix]:
    """All timed track points (``trkpt``) in document order."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InvalidGpx(f"not well-formed XML: {exc}", field="gpx") from None
    if _local(root.tag) != "gpx":
        raise InvalidGpx("root element is not <gpx>", field="gpx")
    fixes = []
    for point in root.iter():
        if _local(point.tag) != "trkpt":
            continue
        children = {_local(c.tag): (c.text or "").strip() for c in point}
        if not children.get("time"):
            continue
        try:
            lat, lon = float(point.get("lat", "")), float(point.get("lon", ""))
            when = datetime.fromisoformat(children["time"].replace("Z", "+00:00"))
            altitude = float(children["ele"]) if children.get("ele") else None
        except ValueError as exc:
            raise InvalidGpx(f"bad track point: {exc}", field="gpx") from None
        if when.tzinfo is None:
            raise InvalidGpx("track point time without a time zone", field="gpx")
        fixes.append(Fix(time=when, lat=lat, lon=lon, altitude_m=altitude, source=source))
    return fixes
