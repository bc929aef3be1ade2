"""Messages for the pages in Chinese (the default) and English.

A signed-in user's language is ``User.locale``; before sign-in it is the ``fieldcrm_lang``
cookie, else Chinese. Catalogues are flat JSON files in ``dashboard/locales/``, keyed by
dotted names (``nav.map``); values may hold ``{name}`` placeholders.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request

from crm.org import User

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
LANG_COOKIE = "fieldcrm_lang"
_DIR = Path(__file__).parent / "locales"


ERROR_PREFIX = "err."


@lru_cache
def catalogue(locale: str) -> dict[str, str]:
    return json.loads((_DIR / f"{locale}.json").read_text(encoding="utf-8"))


@lru_cache
def error_messages(locale: str) -> dict[str, str]:
    """``code`` → message of every service error code (``err.<code>`` keys), for the page scripts."""
    return {k[len(ERROR_PREFIX) :]: v for k, v in catalogue(locale).items() if k.startswith(ERROR_PREFIX)}


def normalise_locale(value: str | None) -> str:
    """``zh``, ``zh-CN``, ``en_US`` ... → a supported locale (Chinese when unknown)."""
    head = (value or "").replace("_", "-").split("-")[0].lower()
    return head if head in LOCALES else DEFAULT_LOCALE


def request_locale(request: Request, user: User | None) -> str:
    if user is not None:
        return normalise_locale(user.locale)
    return normalise_locale(request.cookies.get(LANG_COOKIE))


class Translator:
    """``t("key", name=value)``: the message in this locale, else in English, else the key itself."""

    def __init__(self, locale: str) -> None:
        self.locale = normalise_locale(locale)
        self._messages = catalogue(self.locale)
        self._fallback = catalogue("en")

    def __call__(self, key: str, **values: object) -> str:
        text = self._messages.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text

    def label(self, prefix: str, value: str) -> str:
        """The message for ``prefix.value``, or ``value`` itself for a value without one."""
        key = f"{prefix}.{value}"
        return self._messages.get(key) or self._fallback.get(key) or value

    def messages(self, prefix: str) -> dict[str, str]:
        """Every message under ``prefix.`` (for the page scripts)."""
        keys = {k for k in self._fallback if k.startswith(prefix + ".")}
        return {k: self(k) for k in sorted(keys)}
