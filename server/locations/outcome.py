"""Per-record answers of a fix batch, kept as codes and written straight to JSON text.

The JSON is what ``LocationBatchResult`` describes (docs/locations.md): counts and one
result per record in input order, ``None`` fields left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lbs.filtering import STATUSES

ACCEPTED, DUPLICATE, EXCLUDED = "accepted", "duplicate", "excluded"
EXCLUDED_REASON = "outside tracking hours"
_DUPLICATE = '{"index":%d,"status":"duplicate"}'
_EXCLUDED = '{"index":%d,"status":"excluded","reason":"' + EXCLUDED_REASON + '"}'
_ACCEPTED = ['{"index":%d,"status":"accepted","fix_status":"' + s.value + '"}' for s in STATUSES]


@dataclass(slots=True)
class Outcome:
    """``stored[index] = fix status code`` for stored fixes; re-sent and excluded record indices;
    ``rejected``: result dicts of records that were not valid."""

    stored: dict[int, int] = field(default_factory=dict)
    duplicate: list[int] = field(default_factory=list)
    excluded: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {ACCEPTED: len(self.stored), DUPLICATE: len(self.duplicate), "rejected": len(self.rejected),
                EXCLUDED: len(self.excluded)}

    def statuses(self) -> list[str]:
        """Per record in input order: the fix status when stored, else the record status."""
        found = {i: STATUSES[c].value for i, c in self.stored.items()}
        found |= dict.fromkeys(self.duplicate, DUPLICATE) | dict.fromkeys(self.excluded, EXCLUDED)
        found |= {r["index"]: r["status"] for r in self.rejected}
        return [found[i] for i in sorted(found)]

    def to_json(self) -> bytes:
        items: dict[int, str] = {i: _ACCEPTED[c] % i for i, c in self.stored.items()}
        items |= {i: _DUPLICATE % i for i in self.duplicate}
        items |= {i: _EXCLUDED % i for i in self.excluded}
        items |= {r["index"]: json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in self.rejected}
        counts = json.dumps(self.counts(), separators=(",", ":"))
        results = ",".join(items[i] for i in sorted(items))
        return f'{counts[:-1]},"results":[{results}]}}'.encode()
