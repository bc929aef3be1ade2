"""Keyword rules over SMS bodies and transcripts.

All keywords are compiled into one regular-expression alternation, longest first, so
a text is scanned once whatever the number of keywords (``scripts/bench_capture.py``
measures it). Matches do not overlap: at each position the longest keyword wins.
Latin letters match case-insensitively; the reported keyword is the configured one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_KEYWORDS: tuple[str, ...] = ("折扣", "优惠", "回扣", "私单", "最低价", "返点")
DEFAULT_CONTEXT = 20
MAX_KEYWORDS = 10_000
MAX_KEYWORD_LENGTH = 100


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """``keyword`` as configured; ``start``/``end`` index the text; ``context`` surrounds it."""

    keyword: str
    start: int
    end: int
    context: str
    context_start: int


class KeywordMatcher:
    """Finds configured keywords in texts. Build once per rule set, reuse for every text."""

    def __init__(self, keywords: Iterable[str] = DEFAULT_KEYWORDS) -> None:
        cleaned = {k.strip() for k in keywords if isinstance(k, str) and k.strip()}
        if not cleaned:
            raise ValueError("at least one non-empty keyword is required")
        if len(cleaned) > MAX_KEYWORDS:
            raise ValueError(f"at most {MAX_KEYWORDS} keywords")
        too_long = [k for k in cleaned if len(k) > MAX_KEYWORD_LENGTH]
        if too_long:
            raise ValueError(f"keyword longer than {MAX_KEYWORD_LENGTH} characters: {too_long[0][:20]!r}...")
        by_fold: dict[str, str] = {}
        for keyword in sorted(cleaned):
            by_fold.setdefault(keyword.lower(), keyword)
        self.keywords: tuple[str, ...] = tuple(sorted(by_fold.values()))
        self._canonical = by_fold
        alternation = "|".join(re.escape(k) for k in sorted(by_fold, key=lambda k: (-len(k), k)))
        cased = any(k.upper() != k for k in by_fold)
        self._regex = re.compile(alternation, re.IGNORECASE if cased else 0)

    def find(self, text: str, context: int = DEFAULT_CONTEXT) -> list[KeywordMatch]:
        """All non-overlapping matches in ``text`` with ``context`` characters each side."""
        if context < 0:
            raise ValueError("context must be >= 0")
        matches = []
        for m in self._regex.finditer(text):
            start, end = m.span()
            lo = max(0, start - context)
            matches.append(
                KeywordMatch(
                    keyword=self._canonical.get(m.group().lower(), m.group()),
                    start=start,
                    end=end,
                    context=text[lo : end + context],
                    context_start=lo,
                )
            )
        return matches

    def contains(self, text: str) -> bool:
        return self._regex.search(text) is not None
