"""Throughput of the capture decoders.

Prints one table: ``content query`` parsing of 20,000 SMS rows, record decoding,
phone-number normalisation, and keyword matching (the compiled alternation used by
``capture.keywords`` against a per-keyword ``str.find`` scan as the baseline).

    python scripts/bench_capture.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from capture import SMS_PROJECTION, KeywordMatcher, decode_sms_rows, normalise, parse_content_query

SMS_ROWS = 20_000
NUMBERS = 20_000
TEXT_MB = 4


def sms_output(rows: int, rng: random.Random) -> str:
    lines = []
    for i in range(rows):
        body = f"王经理您好, 报价={rng.randint(1000, 99999)}元, 折扣按上次说的{rng.randint(80, 99)}折 🙂"
        if i % 5 == 0:
            body += "\n第二行：明天上午10点到。\n\nthird line, a=b"
        lines.append(
            f"Row: {i} _id={1000 + i}, thread_id={i % 300}, address=138{rng.randint(10_000_000, 99_999_999)}, "
            f"person=NULL, date={1714545015123 + i * 1000}, date_sent=0, protocol=0, read=1, status=-1, "
            f"type={1 + i % 2}, subject=NULL, service_center=NULL, locked=0, sub_id=1, error_code=0, seen=1, "
            f"body={body}"
        )
    return "\n".join(lines) + "\n"


def raw_numbers(count: int, rng: random.Random) -> list[str]:
    forms = [
        lambda: f"138{rng.randint(10_000_000, 99_999_999)}",
        lambda: f"+86 139 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        lambda: f"17951{rng.choice(['137', '158'])}{rng.randint(10_000_000, 99_999_999)}",
        lambda: f"0{rng.choice(['10', '21', '755'])}-{rng.randint(10_000_000, 99_999_999)}",
        lambda: rng.choice(["95588", "10086", "400-812-3123", "1069012345678"]),
        lambda: "garbage!" + str(rng.randint(0, 9)),
    ]
    return [rng.choice(forms)() for _ in range(count)]


def keyword_text(rng: random.Random) -> str:
    filler = (
        "今天拜访了客户，沟通了产品的交付周期和售后服务安排，客户比较满意。We discussed the delivery plan. "
    )
    parts, size = [], 0
    while size < TEXT_MB * 1_000_000:
        part = filler + (
            rng.choice(["这次能给最低价吗", "返点怎么算", "私单不要做"]) if rng.random() < 0.05 else ""
        )
        parts.append(part)
        size += len(part.encode())
    return "".join(parts)


def naive_find(keywords: list[str], text: str) -> int:
    """Baseline: one ``str.find`` scan of the whole text per keyword."""
    found = 0
    for keyword in keywords:
        start = text.find(keyword)
        while start >= 0:
            found += 1
            start = text.find(keyword, start + len(keyword))
    return found


def timed(action: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    rng = random.Random(42)
    rows: list[tuple[str, str, str]] = []

    output = sms_output(SMS_ROWS, rng)
    seconds = timed(lambda: parse_content_query(output, SMS_PROJECTION))
    rows.append(
        (
            f"content query parse, {SMS_ROWS:,} SMS",
            f"{SMS_ROWS / seconds:,.0f} rows/s",
            f"{seconds * 1000:.1f} ms",
        )
    )
    parsed = parse_content_query(output, SMS_PROJECTION).rows
    seconds = timed(lambda: decode_sms_rows(parsed))
    rows.append(
        (
            f"SMS records decode, {SMS_ROWS:,} rows",
            f"{SMS_ROWS / seconds:,.0f} rows/s",
            f"{seconds * 1000:.1f} ms",
        )
    )

    numbers = raw_numbers(NUMBERS, rng)
    seconds = timed(lambda: [normalise(n) for n in numbers], repeat=1)
    rows.append(
        (
            f"normalise, {NUMBERS:,} mixed numbers",
            f"{NUMBERS / seconds:,.0f} numbers/s",
            f"{seconds / NUMBERS * 1e6:.1f} µs each",
        )
    )

    text = keyword_text(rng)
    megabytes = len(text.encode()) / 1_000_000
    for label, keywords in (
        ("6 default keywords", None),
        ("1,000 keywords", [f"关键词{i}" for i in range(994)]),
    ):
        words = list(KeywordMatcher().keywords) + (keywords or [])
        matcher = KeywordMatcher(words)
        fast = timed(lambda m=matcher: m.find(text), repeat=2)
        slow = timed(lambda w=words: naive_find(w, text), repeat=1)
        rows.append(
            (
                f"keywords, {label}",
                f"{megabytes / fast:,.1f} MB/s",
                f"baseline str.find per keyword {megabytes / slow:,.1f} MB/s ({slow / fast:,.1f}x)",
            )
        )

    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    header = ("benchmark", "throughput", "detail")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
