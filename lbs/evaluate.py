"""Scoring detected stops against ground truth (used by scripts/eval_stops.py and tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StopScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    def __add__(self, other: StopScore) -> StopScore:
        return StopScore(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


def score_stops(
    detected: Sequence[tuple[datetime, datetime]],
    truth: Sequence[tuple[datetime, datetime]],
    min_overlap: float = 0.5,
) -> StopScore:
    """One-to-one matching: a detected and a true stop match when their overlap covers
    at least ``min_overlap`` of the shorter one. Greedy by largest overlap first.
    """
    pairs = []
    for i, (ds, de) in enumerate(detected):
        for j, (ts, te) in enumerate(truth):
            overlap = (min(de, te) - max(ds, ts)).total_seconds()
            shorter = min((de - ds).total_seconds(), (te - ts).total_seconds())
            if overlap > 0 and overlap >= min_overlap * max(shorter, 1.0):
                pairs.append((overlap, i, j))
    used_d: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
    tp = len(used_d)
    return StopScore(tp, len(detected) - tp, len(truth) - tp)
