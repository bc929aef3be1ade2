"""Text files written on a Chinese desktop: UTF-8, or GB18030 where Excel saved a plain CSV."""

from __future__ import annotations

#: UTF-8 (Excel's "CSV UTF-8" starts with a BOM), then GB18030: Excel's plain "CSV" on Chinese
#: Windows is GBK, which GB18030 contains (as it contains GB2312).
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(data: bytes) -> str | None:
    """``data`` in the first of :data:`TEXT_ENCODINGS` that reads all of it; ``None`` when none does."""
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
